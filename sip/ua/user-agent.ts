import { EventEmitter } from 'node:events';
import { createResponse, newBranch, newTag, SipRequest, SipResponse, type SipMessage } from '../message/index.js';
import { ClientTransaction } from '../transaction/client-transaction.js';
import { ServerTransaction } from '../transaction/server-transaction.js';
import { DEFAULT_TIMERS, type TimerBase } from '../transaction/timers.js';
import type { Peer, UdpTransport } from '../transport/udp-transport.js';
import { IncomingCall, type CallOwner } from './incoming-call.js';

/** A reason to refuse a request before any transaction or dialog is made (edge security, rate limits). */
export interface Refusal {
  status: number;
  reason?: string;
  headers?: Record<string, string>;
}

export interface UserAgentOptions {
  transport: UdpTransport;
  /** Host written into Contact and Via (a load balancer's address for replicas). Default: the transport's address. */
  contactHost?: string;
  contactPort?: number;
  timers?: TimerBase;
  /** Called for every new request (not retransmissions, not ACK): undefined accepts. */
  inboundFilter?: (req: SipRequest, source: Peer) => Refusal | undefined;
}

export interface UserAgentEvents {
  invite: [call: IncomingCall];
}

export interface UserAgentStats {
  transactions: number;
  calls: number;
  /** INVITEs refused with 503 while draining. */
  drained: number;
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO';

/**
 * The UA core: the one place that joins transport, transactions and dialogs
 * (RFC 3261 §8, §12–17). It answers OPTIONS, hands each new INVITE to the
 * application as an IncomingCall, routes in-dialog requests to their call,
 * and sends non-INVITE requests (BYE, OPTIONS, REGISTER) through client
 * transactions.
 */
export class UserAgent extends EventEmitter<UserAgentEvents> implements CallOwner {
  readonly #transport: UdpTransport;
  readonly #timers: TimerBase;
  readonly #filter: UserAgentOptions['inboundFilter'];
  readonly #server = new Map<string, ServerTransaction>();
  readonly #client = new Map<string, ClientTransaction>();
  /** INVITE transaction key → call, for CANCEL. */
  readonly #byInvite = new Map<string, IncomingCall>();
  /** Call-ID + our tag → call, for in-dialog requests. */
  readonly #dialogs = new Map<string, IncomingCall>();
  readonly #host: string;
  readonly #port: number;
  readonly stats: UserAgentStats = { transactions: 0, calls: 0, drained: 0 };
  /** While set, new INVITEs get 503 so a balancer moves them to another replica. */
  draining = false;

  constructor(o: UserAgentOptions) {
    super();
    this.#transport = o.transport;
    this.#timers = o.timers ?? DEFAULT_TIMERS;
    this.#filter = o.inboundFilter;
    this.#host = o.contactHost ?? o.transport.local.address;
    this.#port = o.contactPort ?? o.transport.local.port;
    o.transport.setUser({ receive: (m, s) => this.#receive(m, s) });
  }

  get contact(): string {
    return `sip:${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }

  get t1(): number {
    return this.#timers.T1;
  }

  get t2(): number {
    return this.#timers.T2;
  }

  get activeCalls(): number {
    return this.#dialogs.size + [...this.#byInvite.values()].filter((c) => !this.#dialogs.has(dialogKey(c.callId, c.localTag))).length;
  }

  #receive(msg: SipMessage, source: Peer): void {
    if (msg instanceof SipResponse) {
      const key = `${msg.via[0]?.branch}|${msg.cseq.method}`;
      this.#client.get(key)?.receive(msg);
      return;
    }
    const req = msg as SipRequest;
    const branch = req.via[0]?.branch ?? '';
    const key = `${branch}|${req.method === 'ACK' ? 'INVITE' : req.method}`;
    const existing = this.#server.get(key);
    if (existing) {
      existing.receive(req);
      // An ACK for our 2xx carries a new branch; one that matched the INVITE's is for a non-2xx.
      return;
    }
    if (req.method === 'ACK') {
      this.#dialogs.get(dialogKey(req.callId, req.to.tag))?.receiveInDialog(req, undefined);
      return;
    }
    const tx = new ServerTransaction(req, this.#transport, this.#timers, () => this.#server.delete(key));
    this.#server.set(key, tx);
    this.stats.transactions++;

    const refusal = this.#filter?.(req, source);
    if (refusal) {
      tx.respond(createResponse(req, refusal.status, { toTag: newTag(), ...(refusal.reason && { reason: refusal.reason }), ...(refusal.headers && { headers: refusal.headers }) }));
      return;
    }
    if (req.maxForwards !== undefined && req.maxForwards <= 0 && req.method !== 'OPTIONS') {
      tx.respond(createResponse(req, 483, { toTag: newTag() }));
      return;
    }
    if (req.to.tag) {
      const call = this.#dialogs.get(dialogKey(req.callId, req.to.tag));
      if (call) call.receiveInDialog(req, tx);
      else tx.respond(createResponse(req, 481));
      return;
    }
    switch (req.method) {
      case 'INVITE':
        this.#invite(req, source, tx, key);
        return;
      case 'CANCEL': {
        const call = this.#byInvite.get(`${branch}|INVITE`);
        // §9.2: 200 to the CANCEL; the INVITE itself gets 487 if it was still unanswered.
        tx.respond(createResponse(req, call ? 200 : 481, { toTag: call?.localTag ?? newTag() }));
        call?.cancel();
        return;
      }
      case 'OPTIONS':
        tx.respond(createResponse(req, 200, { toTag: newTag(), headers: { allow: ALLOW, accept: 'application/sdp', supported: 'timer' } }));
        return;
      case 'BYE':
        tx.respond(createResponse(req, 481));
        return;
      default:
        tx.respond(createResponse(req, 501, { toTag: newTag(), headers: { allow: ALLOW } }));
    }
  }

  #invite(req: SipRequest, source: Peer, tx: ServerTransaction, key: string): void {
    if (this.draining) {
      this.stats.drained++;
      tx.respond(createResponse(req, 503, { toTag: newTag(), reason: 'Service Unavailable (draining)', headers: { 'retry-after': '5' } }));
      return;
    }
    // §17.2.1: 100 Trying at once, so the carrier stops retransmitting the INVITE.
    tx.respond(createResponse(req, 100));
    const call = new IncomingCall(req, source, tx, this, newTag());
    this.#byInvite.set(key, call);
    this.#dialogs.set(dialogKey(req.callId, call.localTag), call);
    this.stats.calls++;
    if (this.listenerCount('invite') === 0) {
      call.reject(480);
      return;
    }
    this.emit('invite', call);
  }

  forget(call: IncomingCall): void {
    for (const [k, c] of this.#byInvite) if (c === call) this.#byInvite.delete(k);
    // Keep the dialog a little longer so that late retransmissions (BYE, ACK) still match it.
    setTimeout(() => this.#dialogs.delete(dialogKey(call.callId, call.localTag)), 64 * this.#timers.T1).unref();
  }

  /**
   * Sends a non-INVITE request through a client transaction and resolves with
   * its final response. The top Via is ours (transport, address, new branch).
   */
  sendRequest(req: SipRequest, to: Peer): Promise<SipResponse> {
    const branch = newBranch();
    const via = `SIP/2.0/UDP ${this.#transport.local.address}:${this.#transport.local.port};branch=${branch};rport`;
    if (req.via.length && /placeholder/.test(String(req.via[0]))) req.setHeader('via', via);
    else req.addHeader('via', via, true);
    const key = `${branch}|${req.cseq.method}`;
    const tx = new ClientTransaction(req, this.#transport, to, this.#timers, () => this.#client.delete(key));
    this.#client.set(key, tx);
    return tx.response;
  }

  /** Ends every call (BYE or 503) and disposes every transaction. */
  async close(): Promise<void> {
    const calls = new Set([...this.#dialogs.values(), ...this.#byInvite.values()]);
    for (const c of calls) c.shutdown();
    for (const tx of this.#server.values()) tx.dispose();
    for (const tx of this.#client.values()) tx.dispose();
    this.#server.clear();
    this.#client.clear();
  }
}

function dialogKey(callId: string, localTag: string | undefined): string {
  return `${callId}|${localTag ?? ''}`;
}
