import { OutgoingCall, type Destination, type ReliableProvisionalHook, type UserAgent } from '../../sip/index.js';
import type { DnsLookups } from '../../sip/dns/index.js';
import type { CarrierAccount } from '../../sip/registration/index.js';
import { isMediaError } from '../../media/index.js';
import { ConfigInvalidError, type AgentConfig, type OutboundConfig, type RouteConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { Call, type CallDeps } from './call.js';
import { callContext } from './call-context.js';
import type { CallManager } from './call-manager.js';
import { OutboundLeg } from './call-leg.js';
import { DialInvalidError, DialRefusedError } from './errors.js';
import { placeBareLeg } from './dial-leg.js';
import { trunkSrtp } from './carrier-setup.js';
import type { Dialer as TransferDialer } from './transfer.js';
import { OutboundMedia } from './outbound-media.js';
import { reasonAfterAnswer, reasonBeforeAnswer } from './outbound-outcome.js';
import { OutboundRecord } from './outbound-record.js';
import { findRoute, normaliseNumber, uriUser, type Route } from './route.js';
import { eachTargetInTurn, silentTargetLimit, triesNextTarget, trunkTargets } from './target-failover.js';
import type { TrunkCaps } from './trunk-caps.js';
import { buildTrunks, extraHeaders, partyUri, type Trunk } from './trunks.js';

/** What POST /api/calls (and bench:calls, and a transfer's "dial and bridge") asks for. */
export interface DialRequest {
  /** E.164 (+15551234567) or a sip: URI. */
  to: string;
  /** Default: the trunk's registration (sip:user@domain). */
  from?: string;
  /** An outbound.trunks id. */
  trunk: string;
  /** An agents.<name>; default: the route of the `from` number, else the first route's agent. */
  agent?: string;
  /** X-… headers (and a few identity headers) for the INVITE. */
  headers?: Record<string, string>;
}

/** What the tenants answer for a call on a trunk (src/tenants' Admission, as far as dialing needs it). */
export type TrunkAdmission =
  | { ok: true; release(): void }
  | { ok: false; reason: string; retryAfterS: number; why: string };

export interface DialerOptions {
  ua: UserAgent;
  calls: CallManager;
  /** What every Call needs (media, ports, pacer, the agent's upstreams): the CallManager's own. */
  callDeps: Omit<CallDeps, 'log'>;
  outbound: OutboundConfig;
  /** The registrations as the registration pool takes them (TLS files read): a trunk's identity, credentials and TLS. */
  registrations: readonly CarrierAccount[];
  agents: Readonly<Record<string, AgentConfig>>;
  routes: readonly RouteConfig[];
  /** calls.maxConcurrent: answered calls of both directions plus outbound ones still ringing. */
  maxConcurrent: number;
  caps: TrunkCaps;
  /** The RFC 3263 resolver the registrations use (sip.dnsServers). */
  dns: DnsLookups;
  log: Logger;
  /** RFC 3262 for our INVITEs (sip's reliableProvisionals()): absent, we do not offer 100rel. */
  reliableProvisional?: ReliableProvisionalHook;
  /**
   * The tenants' fleet-wide admission for a call on this trunk (src/tenants admitTrunk): asked
   * before anything is taken; an admitted call is released when it ends. Absent: no tenant limits.
   */
  admitTrunk?: (trunk: string) => Promise<TrunkAdmission>;
  /**
   * Decides the call's region before anything is sent (src/boot/regions.ts): records it on the
   * route and returns undefined, or says why no region the call's rule allows can serve (the dial
   * is refused, 503). Absent: no regions.
   */
  region?: (route: Route, trunk: string) => string | undefined;
  /** Throws (OverloadedError) while the gateway is overloaded: the dial is refused before anything is taken (OverloadGuard). */
  overload?: { checkDial(): void };
  /** Ended calls kept for GET /api/calls/:id. Default 500. */
  keepEnded?: number;
}

/**
 * Places outbound calls: checks the request, takes the trunk's caps (all replicas together) and an
 * RTP port, sends the INVITE with our offer through the trunk and follows it (ringing, early media,
 * the answer, or why not). An answered call becomes a Call like any inbound one, tracked by the
 * CallManager: its agent leases its upstreams at the answer, from the same warm pools.
 */
/** Who is called, as whom, with which headers. */
interface Placement { to: string; from: string; headers: Record<string, string> }

export class Dialer {
  readonly #o: DialerOptions;
  readonly #trunks: Map<string, Trunk>;
  readonly #records = new Map<string, OutboundRecord>();
  readonly #log: Logger;
  /** Dials not yet answered nor ended: they hold a port and count toward calls.maxConcurrent. */
  #placing = 0;

  constructor(o: DialerOptions) {
    this.#o = o;
    this.#trunks = buildTrunks(o.outbound, o.registrations);
    this.#log = o.log.child({ component: 'dial' });
  }

  get trunks(): string[] { return [...this.#trunks.keys()]; }

  get(id: string): OutboundRecord | undefined { return this.#records.get(id); }

  /** Hangs up an outbound call (CANCEL before the answer, BYE after); false when unknown or already ended. */
  async hangup(id: string): Promise<boolean> {
    const r = this.#records.get(id);
    if (!r || r.state === 'ended') return false;
    await r.hangup();
    return true;
  }

  /**
   * Starts one outbound call and returns its record at once (state 'dialing'); its progress is in
   * the record. Throws DialInvalidError (bad request), DialRefusedError (a cap, no port,
   * draining) or OverloadedError: nothing was sent then.
   */
  async dial(req: DialRequest): Promise<OutboundRecord> {
    const trunk = typeof req.trunk === 'string' ? this.#trunks.get(req.trunk) : undefined;
    if (!trunk) throw new DialInvalidError({ field: 'trunk', value: req.trunk, expected: `one of outbound.trunks (${this.trunks.join(', ') || 'none configured'})` });
    const to = partyUri('to', req.to, trunk.domain);
    const from = req.from === undefined ? `sip:${trunk.user}@${trunk.domain}` : partyUri('from', req.from, trunk.domain);
    const headers = extraHeaders(req.headers);
    const route = this.#agentFor(req.agent, from);
    if (this.#o.ua.draining) throw new DialRefusedError({ why: 'draining', detail: 'this replica is draining or still warming its pools' });
    this.#o.overload?.checkDial();
    if (this.#o.calls.activeCount + this.#placing >= this.#o.maxConcurrent) throw new DialRefusedError({ why: 'capacity', limit: this.#o.maxConcurrent, detail: 'calls.maxConcurrent' });
    const noRegion = this.#o.region?.(route, trunk.id);
    if (noRegion !== undefined) throw new DialRefusedError({ why: 'region', detail: noRegion });
    const record = new OutboundRecord(to, from, trunk.id, route.agent);
    const tenant = await this.#admit(trunk.id);
    let slot: Awaited<ReturnType<TrunkCaps['take']>>;
    let media: OutboundMedia;
    try {
      slot = await this.#o.caps.take(trunk, record.id);
    } catch (err) {
      tenant.release();
      throw err;
    }
    try {
      media = new OutboundMedia({ media: this.#o.callDeps.media, ports: this.#o.callDeps.ports, pacer: this.#o.callDeps.pacer, cname: `warmline-${record.id.slice(0, 8)}`, srtp: trunkSrtp(this.#o.callDeps.media, trunk) });
    } catch (err) {
      slot.release();
      tenant.release();
      if (isMediaError(err)) throw new DialRefusedError({ why: 'capacity', detail: err.message }, { cause: err });
      throw err;
    }
    this.#placing++;
    this.#remember(record);
    let last: { received: number; sent: number } | undefined;
    record.rtpStats = () => {
      const s = media.rtp?.stats;
      if (s) last = { received: s.received, sent: s.sent };
      return last;
    };
    const log = this.#log.child({ outbound: record.id, trunk: trunk.id });
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      this.#placing--;
    };
    record.whenEnded.then(() => { settle(); slot.release(); tenant.release(); media.close(); }, () => undefined);
    this.#place(record, trunk, media, { to, from, headers }, route, log, settle).catch((err: unknown) => {
      log.error({ err }, 'outbound call failed to start');
      record.end('setup-failed', err instanceof Error ? err.message : String(err));
    });
    return record;
  }

  async #place(record: OutboundRecord, trunk: Trunk, media: OutboundMedia, p: Placement, route: Route, log: Logger, settle: () => void): Promise<void> {
    let targets: Destination[];
    try {
      targets = await trunkTargets(trunk, this.#o.dns);
    } catch (err) {
      record.end('transport-error', `trunk ${trunk.id} not resolved: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    await eachTargetInTurn(targets, (destination, mayFailOver) => {
      if (record.state === 'ended') return Promise.resolve(false);
      return this.#attempt(record, trunk, media, p, route, log, settle, destination, mayFailOver);
    }, log);
  }

  /**
   * One INVITE toward `destination`. Resolves true when the next RFC 3263 target should be tried
   * (triesNextTarget) and `mayFailOver`; false once the outcome belongs to the call.
   */
  #attempt(record: OutboundRecord, trunk: Trunk, media: OutboundMedia, p: Placement, route: Route, log: Logger, settle: () => void, destination: Destination, mayFailOver: boolean): Promise<boolean> {
    let decide: (again: boolean) => void = () => undefined;
    const decided = new Promise<boolean>((resolve) => { decide = resolve; });
    const sip = new OutgoingCall(this.#o.ua, {
      target: p.to, from: p.from, sdp: media.offer, destination, headers: p.headers, ringTimeoutMs: this.#o.outbound.ringTimeoutS * 1000,
      ...silentTargetLimit(mayFailOver, this.#o.outbound.targetTimeoutMs),
      ...(trunk.credentials && { credentials: trunk.credentials }),
      ...(this.#o.reliableProvisional && { reliableProvisional: this.#o.reliableProvisional }),
    });
    record.sipCallId = sip.callId;
    record.hangup = () => sip.hangup();
    let answering = false;
    sip.on('progress', (_status, sdp) => {
      decide(false);
      if (record.state === 'ended') return;
      if (sdp) {
        record.state = 'early';
        // Early media: RTP toward the early answer now, so ringback or an announcement flows.
        media.apply(sdp).catch((err: unknown) => log.warn({ err }, 'early answer not usable: waiting for the final one'));
      } else if (record.state === 'dialing') record.state = 'ringing';
    });
    sip.once('ended', (end) => {
      // Still 'dialing': nothing but a 100 came from this target (an 18x moves the record on).
      if (mayFailOver && triesNextTarget(end, record.state !== 'dialing')) {
        decide(true);
        return;
      }
      decide(false);
      record.sipStatus = end.status ?? sip.lastStatus ?? record.sipStatus;
      if (end.phrase) record.sipReason = end.phrase;
      if (record.call) return; // the Call reports its own end
      record.end(answering ? (end.reason === 'bye' ? 'remote-hangup' : 'hangup') : reasonBeforeAnswer(end), end.detail);
      log.info({ reason: record.reason, sipStatus: record.sipStatus }, 'outbound call ended before it was answered');
    });
    sip.on('answered', (sdp) => {
      decide(false);
      answering = true;
      record.sipStatus = 200;
      if (!sdp) {
        sip.hangup().catch(() => undefined);
        record.end('setup-failed', 'the 2xx carried no SDP answer (and no early one came before)');
        return;
      }
      media.apply(sdp).then(() => {
        if (record.state === 'ended' || sip.state === 'ended') return;
        // The agent's context is what we put in our own INVITE (the request's X- headers): trusted, we wrote it.
        const context = callContext(sip.invite, true);
        const call = new Call(new OutboundLeg(sip), route, { did: normaliseNumber(uriUser(p.from)), caller: normaliseNumber(uriUser(p.to)), context }, { ...this.#o.callDeps, log: this.#log });
        settle();
        record.answered(call);
        record.hangup = () => { call.end('hangup'); return call.byeSettled; };
        call.once('ended', (r) => record.end(reasonAfterAnswer(r)));
        this.#o.calls.adopt(call, () => call.startAnswered(media.handOff()));
        log.info({ callId: call.id }, 'outbound call answered');
      }, (err: unknown) => {
        sip.hangup().catch(() => undefined);
        record.end('setup-failed', `the answer's SDP is not usable: ${err instanceof Error ? err.message : String(err)}`);
      });
    });
    sip.start();
    log.info({ to: p.to, destination: `${destination.transport ?? 'udp'}:${destination.address}:${destination.port}` }, 'INVITE sent');
    return decided;
  }

  /**
   * The transfer fallback's dialer: bare legs (no agent, no record) through `trunkId`, for the
   * person a caller is handed to. Throws ConfigInvalidError when the trunk is not one of outbound.trunks.
   */
  legsThrough(trunkId: string): TransferDialer {
    const trunk = this.#trunks.get(trunkId);
    if (!trunk) throw new ConfigInvalidError({ issues: [{ key: 'transfer.trunk', value: trunkId, expected: `the id of an outbound.trunks entry (${this.trunks.join(', ') || 'none configured'})`, source: 'configuration' }] });
    const { ua, callDeps, caps, reliableProvisional } = this.#o;
    const deps = { ua, media: callDeps.media, ports: callDeps.ports, caps, reliableProvisional, targets: (t: Trunk) => trunkTargets(t, this.#o.dns), targetTimeoutMs: this.#o.outbound.targetTimeoutMs, log: this.#log };
    return {
      dial: (target, o) => {
        // The caller's number is shown to the person where it is one; else (anonymous, a browser) the trunk's own.
        let from: string;
        try { from = partyUri('from', o.from, trunk.domain); } catch { from = `sip:${trunk.user}@${trunk.domain}`; }
        return placeBareLeg(deps, trunk, { to: target, from, codecs: o.codecs, timeoutMs: o.timeoutMs, signal: o.signal });
      },
    };
  }

  /** The trunk's tenant admits the call, or the dial is refused the API's way (429 for its cps, 503 else). */
  async #admit(trunkId: string): Promise<{ release(): void }> {
    if (!this.#o.admitTrunk) return { release: () => undefined };
    const a = await this.#o.admitTrunk(trunkId);
    if (a.ok) return a;
    throw new DialRefusedError({ why: a.reason === 'cps' ? 'tenant-rate' : 'tenant-limit', detail: a.why, retryAfterS: Math.max(1, a.retryAfterS) });
  }

  #agentFor(name: unknown, from: string): Route {
    const { agents, routes } = this.#o;
    if (name !== undefined) {
      if (typeof name === 'string' && Object.hasOwn(agents, name)) return { agent: name, profile: agents[name]! };
      throw new DialInvalidError({ field: 'agent', value: name, expected: `one of agents (${Object.keys(agents).join(', ')})` });
    }
    const r = findRoute(routes, agents, normaliseNumber(uriUser(from)));
    if (r) return r;
    const first = routes[0]!;
    return { agent: first.agent, profile: agents[first.agent]! };
  }

  #remember(record: OutboundRecord): void {
    this.#records.set(record.id, record);
    const keep = this.#o.keepEnded ?? 500;
    if (this.#records.size <= keep) return;
    for (const [id, r] of this.#records) {
      if (this.#records.size <= keep) break;
      if (r.state === 'ended') this.#records.delete(id);
    }
  }

  /** Shutdown: every call not answered yet is cancelled (answered ones end with the CallManager's). */
  async close(waitMs = 2000): Promise<void> {
    const pending = [...this.#records.values()].filter((r) => r.state !== 'ended' && !r.call).map((r) => r.hangup().catch(() => undefined));
    let timer: NodeJS.Timeout | undefined;
    // A CANCEL waits for a provisional response (§9.1): a trunk that never sent one must not hold the shutdown.
    await Promise.race([Promise.all(pending), new Promise<void>((resolve) => { timer = setTimeout(resolve, waitMs); })]);
    clearTimeout(timer);
  }
}
