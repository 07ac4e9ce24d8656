import { DigestServer } from '../../sip/digest/index.js';
import type { Peer, Refusal, SipRequest, Transport } from '../../sip/index.js';
import type { Logger } from '../log.js';
import type { DemoCredentials } from './credentials.js';

export type InboundFilter = (req: SipRequest, source: Peer, transport: Transport) => Refusal | undefined;

export interface DemoGuardOptions {
  credentials: DemoCredentials;
  /** The called number a demo credential may INVITE (demo.did). */
  did: string;
  maxConcurrentCalls: number;
  /** Call-IDs of the calls in progress (from the call manager). */
  activeCallIds(): Iterable<string>;
  /** What every other request goes through: the carrier allow-list and rate limits. */
  edge: InboundFilter;
  log: Logger;
}

/** How long an admitted Call-ID is remembered once it is no longer in progress (a re-sent INVITE). */
const ADMIT_GRACE_MS = 10_000;
const MAX_OWNERS = 1000;

/**
 * The SIP edge for browsers. Anything arriving over the SIP WebSocket must INVITE with a live demo
 * credential (RFC 3261 §22.2: 401 with a challenge when none is given, 403 when it is unknown or
 * expired), may call only the demo's number, and only while the demo is under its cap (486).
 * The loopback carrier allow-list does not count here: a page on this machine is not a carrier.
 * Everything refused here is refused before a Call exists, so no upstream is leased.
 */
export class DemoGuard {
  readonly #o: DemoGuardOptions;
  readonly #digest: DigestServer;
  /** Call-ID → when it was admitted. */
  readonly #admitted = new Map<string, number>();
  /** Call-ID → the credential's user who placed it, kept past the call's end so the page can read how it ended. */
  readonly #owners = new Map<string, string>();

  constructor(o: DemoGuardOptions) {
    this.#o = o;
    this.#digest = new DigestServer({ realm: 'warmline-demo', lookup: (u) => o.credentials.password(u), nonceTtlMs: 60_000 });
  }

  readonly filter: InboundFilter = (req, source, transport) => {
    if (transport.protocol !== 'WS' && transport.protocol !== 'WSS') return this.#o.edge(req, source, transport);
    // In-dialog requests (BYE, re-INVITE, INFO) belong to a call already admitted; the UA answers 481 to strays.
    if (req.method !== 'INVITE' || req.to.tag) return undefined;
    const cred = req.header('Authorization') ?? req.header('Proxy-Authorization');
    if (cred === undefined) return { status: 401, reason: 'Unauthorized', headers: { 'WWW-Authenticate': this.#digest.challenge() } };
    const v = this.#digest.verify(cred, req.method);
    if (!v.ok) {
      if (v.stale) return { status: 401, reason: 'Unauthorized', headers: { 'WWW-Authenticate': this.#digest.challenge(true) } };
      this.#o.log.warn({ source: `${source.address}:${source.port}`, reason: v.reason }, 'demo: INVITE refused, no live credential');
      return { status: 403, reason: 'Forbidden' };
    }
    const user = /^sips?:([^@;]+)@/i.exec(req.uri)?.[1];
    if (user !== this.#o.did) return { status: 403, reason: 'Forbidden', headers: { Warning: `399 warmline "demo credentials call ${this.#o.did} only"` } };
    if (this.activeCalls() >= this.#o.maxConcurrentCalls) {
      this.#o.log.warn({ max: this.#o.maxConcurrentCalls }, 'demo: at capacity');
      return { status: 486, reason: 'Busy Here', headers: { Warning: '399 warmline "demo at capacity"' } };
    }
    this.#admitted.set(req.callId, Date.now());
    this.#owners.set(req.callId, v.username);
    if (this.#owners.size > MAX_OWNERS) this.#owners.delete(this.#owners.keys().next().value!);
    return undefined;
  };

  /**
   * Demo calls in progress. The UA hands an admitted INVITE to the call manager in the same tick,
   * so an admitted call is either in progress or already over (refused, cancelled, hung up).
   */
  activeCalls(): number {
    const active = new Set(this.#o.activeCallIds());
    const now = Date.now();
    let n = 0;
    for (const [id, at] of this.#admitted) {
      if (active.has(id)) n++;
      else if (now - at > ADMIT_GRACE_MS) this.#admitted.delete(id);
    }
    return n;
  }

  /**
   * A fresh challenge handed out with the credential (POST /demo/session), so the page's first
   * INVITE can carry its Authorization and skip the 401 round trip (RFC 7616 §3.4 lets a client
   * reuse a nonce it holds). It tells nothing a bare INVITE's 401 would not: the nonce is signed,
   * lives nonceTtlMs, is taken once per nonce count (replays refused), and answering it still
   * needs the password. Past its life the INVITE gets 401 stale=true and retries, as any client.
   */
  challenge(): string {
    return this.#digest.challenge();
  }

  /** Who placed a demo call (its credential's user), so only that page reads its transcript. */
  placedBy(callId: string): string | undefined {
    return this.#owners.get(callId);
  }
}
