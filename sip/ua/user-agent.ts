import { EventEmitter } from 'node:events';
import { createResponse, newBranch, newTag, SipRequest, SipResponse, type SipMessage } from '../message/index.js';
import { SipError, SipTransportError } from '../errors.js';
import { ClientTransaction } from '../transaction/client-transaction.js';
import { InviteClientTransaction } from '../transaction/invite-client-transaction.js';
import { ServerTransaction } from '../transaction/server-transaction.js';
import { clientKey, invitedKey, serverKey } from '../transaction/matching.js';
import { DEFAULT_TIMERS, type TimerBase } from '../transaction/timers.js';
import type { Destination, Peer, Transport, TransportProtocol } from '../transport/transport.js';
import { IncomingCall, type CallOwner } from './incoming-call.js';
import { DEFAULT_SESSION_TIMERS, readSessionExpires, type SessionTimerOptions } from './session-timer.js';
import { inspectRequest } from './uas-checks.js';

/** What the UA routes in-dialog requests to: an IncomingCall, or an OutgoingCall's confirmed dialog. */
export interface DialogUser {
  receiveInDialog(req: SipRequest, tx: ServerTransaction | undefined): void;
  shutdown(): void;
}

/** A reason to refuse a request before any transaction or dialog is made (edge security, rate limits). */
export interface Refusal {
  status: number;
  reason?: string;
  headers?: Record<string, string>;
}

export interface UserAgentOptions {
  /** One transport, or several (UDP and TCP on the same port, WS for browsers): the first is the default for requests we originate. */
  transport: Transport | readonly Transport[];
  /** Host written into Contact (a load balancer's address for replicas). Default: `advertise`, else each transport's address. */
  contactHost?: string;
  /**
   * Our public address (host or IP) behind NAT or a load balancer: the Via sent-by host and the
   * Contact host of everything we send, instead of the address the transports are bound to.
   */
  advertise?: string;
  /** Port written into the Contact of the first transport. Default: its port. */
  contactPort?: number;
  /** Ports written into the Contact of the other transports, by protocol. Default: each transport's port. */
  contactPorts?: Partial<Record<TransportProtocol, number>>;
  timers?: TimerBase;
  /** RFC 4028 session timers: our Min-SE and refresher preference. */
  sessionTimers?: SessionTimerOptions;
  /**
   * Called for every new request that starts something (not retransmissions, not ACK, not a
   * request inside a dialog we hold, not a CANCEL for an INVITE we hold): undefined accepts.
   */
  inboundFilter?: (req: SipRequest, source: Peer, transport: Transport) => Refusal | undefined;
}

export interface UserAgentEvents {
  invite: [call: IncomingCall];
  /**
   * A new INVITE (not a re-INVITE) got a final failure response, whichever
   * stage refused it: the edge (403, 407, rate 503), the UA (draining 503,
   * 420, 422, 483…) or the application through IncomingCall.reject (404, 488,
   * 503…). A CANCELled INVITE's 487 is not a refusal.
   */
  refused: [invite: SipRequest, status: number];
}

export interface UserAgentStats {
  transactions: number;
  calls: number;
  /** INVITEs refused with 503 while draining. */
  drained: number;
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, PRACK';

/**
 * The UA core: the one place that joins transports, transactions and dialogs
 * (RFC 3261 §8, §12–17). It listens on one or more transports (UDP, TCP,
 * TLS, WS) at once, answers OPTIONS, hands each new INVITE to the
 * application as an IncomingCall (refusing with 422 a session interval below
 * our Min-SE, RFC 4028), routes in-dialog requests to their call, and sends
 * requests through client transactions: non-INVITE ones (BYE, OPTIONS,
 * REGISTER, UPDATE) and re-INVITEs. A request goes out on the transport it
 * names, or on the dialog's, or on the first one.
 */
export class UserAgent extends EventEmitter<UserAgentEvents> implements CallOwner {
  readonly #transports: readonly Transport[];
  readonly #timers: TimerBase;
  readonly #filter: UserAgentOptions['inboundFilter'];
  readonly #server = new Map<string, ServerTransaction>();
  readonly #client = new Map<string, ClientTransaction | InviteClientTransaction>();
  /** INVITE transaction key → call, for CANCEL. */
  readonly #byInvite = new Map<string, IncomingCall>();
  /** Call-ID + our tag → call, for in-dialog requests. */
  readonly #dialogs = new Map<string, DialogUser>();
  readonly #contactHost: string | undefined;
  readonly #advertise: string | undefined;
  readonly #contactPorts: Partial<Record<TransportProtocol, number>>;
  readonly #contacts = new Map<Transport, string>();
  readonly stats: UserAgentStats = { transactions: 0, calls: 0, drained: 0 };
  readonly sessionTimers: Required<SessionTimerOptions>;
  /** While set, new INVITEs get 503 so a balancer moves them to another replica. */
  draining = false;

  constructor(o: UserAgentOptions) {
    super();
    const list: readonly Transport[] = 'protocol' in o.transport ? [o.transport] : o.transport;
    if (list.length === 0) throw new SipError('SIP_ERR_CONFIG', 'a UserAgent needs at least one transport');
    this.#transports = [...list];
    this.#timers = o.timers ?? DEFAULT_TIMERS;
    this.#filter = o.inboundFilter;
    this.sessionTimers = Object.freeze({ ...DEFAULT_SESSION_TIMERS, ...o.sessionTimers });
    this.#advertise = o.advertise || undefined;
    this.#contactHost = o.contactHost ?? this.#advertise;
    this.#contactPorts = { ...o.contactPorts, ...(o.contactPort !== undefined && { [list[0]!.protocol]: o.contactPort }) };
    for (const t of list) t.setUser({ receive: (m, s, via) => this.#receive(m, s, via) });
  }

  /** The Contact URI of the first transport (what registrations advertise). */
  get contact(): string {
    return this.contactFor(this.#transports[0]!);
  }

  /** The transports this UA listens on, the default one first. */
  get transports(): readonly Transport[] {
    return this.#transports;
  }

  /**
   * Our Contact URI when speaking over `transport` (or the one of ours with
   * that protocol): §19.1.1 `;transport=` tells the peer to come back over
   * TCP, TLS or WS rather than its default, UDP.
   */
  contactFor(which: Transport | TransportProtocol | Lowercase<TransportProtocol>): string {
    const transport = typeof which === 'string' ? this.transportFor({ address: '', port: 0, transport: which }) : which;
    let c = this.#contacts.get(transport);
    if (!c) {
      const host = this.#contactHost ?? transport.local.address;
      const port = this.#contactPorts[transport.protocol] ?? transport.local.port;
      c = `sip:${host.includes(':') ? `[${host}]` : host}:${port}${transport.protocol === 'UDP' ? '' : `;transport=${transport.protocol.toLowerCase()}`}`;
      this.#contacts.set(transport, c);
    }
    return c;
  }

  get t1(): number {
    return this.#timers.T1;
  }

  get t2(): number {
    return this.#timers.T2;
  }

  get activeCalls(): number {
    return this.#byInvite.size;
  }

  /** Transactions still open, ours (client) and the peers' (server): 0 once everything has settled. */
  get openTransactions(): { client: number; server: number } {
    return { client: this.#client.size, server: this.#server.size };
  }

  #receive(msg: SipMessage, source: Peer, transport: Transport): void {
    if (msg instanceof SipResponse) {
      this.#client.get(clientKey(msg))?.receive(msg);
      return;
    }
    const req = msg as SipRequest;
    const key = serverKey(req);
    const existing = this.#server.get(key);
    // An RFC 2543 ACK for our 2xx matches the INVITE's transaction (no branch tells them apart): it is the dialog's.
    if (existing && !(req.method === 'ACK' && existing.state === 'accepted')) {
      existing.receive(req);
      // An ACK for our 2xx carries a new branch; one that matched the INVITE's is for a non-2xx.
      return;
    }
    if (req.method === 'ACK') {
      this.#dialogs.get(dialogKey(req.callId, req.to.tag))?.receiveInDialog(req, undefined);
      return;
    }
    // §18.2.2: responses go back the way the request came (on streams, the same connection).
    const sender = { reliable: transport.reliable, sendResponse: (res: SipResponse) => transport.sendResponse(res, source) };
    const tx = new ServerTransaction(req, sender, this.#timers, () => this.#server.delete(key));
    this.#server.set(key, tx);
    this.stats.transactions++;

    // The filter (edge security, the per-source rate limit) guards new dialogs and out-of-dialog
    // requests. A request inside a dialog we hold, or a CANCEL for an INVITE transaction we hold,
    // is part of work already admitted: refusing a BYE under a burst only keeps a finished call's
    // resources (ASR socket, RTP port) until its RTP timeout, and refusing a CANCEL rings on.
    const admitted = req.to.tag !== undefined
      ? this.#dialogs.has(dialogKey(req.callId, req.to.tag))
      : req.method === 'CANCEL' && this.#byInvite.has(invitedKey(req));
    const refusal = admitted ? undefined : this.#filter?.(req, source, transport);
    if (refusal) {
      this.#refuse(req, tx, refusal.status, { ...(refusal.reason && { reason: refusal.reason }), ...(refusal.headers && { headers: refusal.headers }) });
      return;
    }
    if (req.maxForwards !== undefined && req.maxForwards <= 0 && req.method !== 'OPTIONS') {
      this.#refuse(req, tx, 483);
      return;
    }
    const inspected = inspectRequest(req);
    if (inspected) {
      this.#refuse(req, tx, inspected.status, inspected.headers ? { headers: inspected.headers } : {});
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
        this.#invite(req, source, transport, tx, key);
        return;
      case 'CANCEL': {
        const call = this.#byInvite.get(invitedKey(req));
        // §9.2: 200 to the CANCEL; the INVITE itself gets 487 if it was still unanswered.
        tx.respond(createResponse(req, call ? 200 : 481, { toTag: call?.localTag ?? newTag() }));
        call?.cancel();
        return;
      }
      case 'OPTIONS':
        tx.respond(createResponse(req, 200, { toTag: newTag(), headers: { allow: ALLOW, accept: 'application/sdp', supported: 'timer, 100rel' } }));
        return;
      case 'BYE':
        tx.respond(createResponse(req, 481));
        return;
      default:
        tx.respond(createResponse(req, 501, { toTag: newTag(), headers: { allow: ALLOW } }));
    }
  }

  #invite(req: SipRequest, source: Peer, transport: Transport, tx: ServerTransaction, key: string): void {
    if (this.draining) {
      this.stats.drained++;
      this.#refuse(req, tx, 503, { reason: 'Service Unavailable (draining)', headers: { 'retry-after': '5' } });
      return;
    }
    // RFC 4028 §8.1: a session interval below our Min-SE is refused, with the Min-SE to retry with.
    const se = this.sessionTimers.enabled ? readSessionExpires(req) : undefined;
    if (se && se.interval < this.sessionTimers.minSE) {
      this.#refuse(req, tx, 422, { headers: { 'min-se': String(this.sessionTimers.minSE) } });
      return;
    }
    // §17.2.1: 100 Trying at once, so the carrier stops retransmitting the INVITE.
    tx.respond(createResponse(req, 100));
    const call = new IncomingCall(req, source, tx, this, newTag(), transport);
    this.#byInvite.set(key, call);
    this.#dialogs.set(dialogKey(req.callId, call.localTag), call);
    this.stats.calls++;
    if (this.listenerCount('invite') === 0) {
      call.reject(480);
      return;
    }
    this.emit('invite', call);
  }

  /** A final failure response to a request we start nothing for; a new INVITE's is counted as refused. */
  #refuse(req: SipRequest, tx: ServerTransaction, status: number, o: { reason?: string; headers?: Record<string, string> } = {}): void {
    tx.respond(createResponse(req, status, { toTag: newTag(), ...o }));
    if (req.method === 'INVITE' && !req.to.tag) this.emit('refused', req, status);
  }

  /** @internal IncomingCall reports the application's (or shutdown's) refusal of its INVITE. */
  refused(call: IncomingCall, status: number): void {
    this.emit('refused', call.invite, status);
  }

  /**
   * Drops an ended call at once. Nothing needs it afterwards: retransmitted
   * BYEs and INVITEs are absorbed by their server transactions (Timers J and
   * L), a late ACK for our 2xx needs no answer, and anything else in the
   * dialog rightly gets 481. Keeping whole calls for 64·T1 "just in case"
   * held ~18 KB per call (179 MB after 10,000 calls) for 32 s.
   */
  forget(call: IncomingCall): void {
    const key = serverKey(call.invite);
    if (this.#byInvite.get(key) === call) this.#byInvite.delete(key);
    const d = dialogKey(call.callId, call.localTag);
    if (this.#dialogs.get(d) === call) this.#dialogs.delete(d);
  }

  /** An outgoing call's dialog (our From tag is its local tag): in-dialog requests reach it from now on. */
  addDialog(callId: string, localTag: string, d: DialogUser): void {
    this.#dialogs.set(dialogKey(callId, localTag), d);
  }

  removeDialog(callId: string, localTag: string, d: DialogUser): void {
    const key = dialogKey(callId, localTag);
    if (this.#dialogs.get(key) === d) this.#dialogs.delete(key);
  }

  /**
   * §9.1: a CANCEL carries the top Via of the INVITE it cancels (same branch), so it is sent as
   * built, without a Via of ours on top; its responses match by branch and method CANCEL.
   */
  sendCancel(cancel: SipRequest, to: Destination, transport: Transport = this.transportFor(to)): Promise<SipResponse> {
    const key = clientKey(cancel);
    return new Promise<SipResponse>((resolve, reject) => {
      const tx = new ClientTransaction(cancel, transport, to, this.#timers, this.#dropClient(key), { onResponse: resolve, onError: reject });
      if (tx.state !== 'terminated') this.#client.set(key, tx);
    });
  }

  /** The transport for a destination: the one asked for by name, else the default (first) one. */
  transportFor(to: Destination): Transport {
    if (to.transport) {
      const want = to.transport.toUpperCase();
      const t = this.#transports.find((x) => x.protocol === want);
      if (!t) throw new SipTransportError(`no ${want} transport for ${to.address}:${to.port}`, { transport: want, address: to.address, port: to.port });
      return t;
    }
    return this.#transports[0]!;
  }

  /**
   * Sends a non-INVITE request through a client transaction and resolves with
   * its final response. The top Via is ours (transport, address, new branch).
   * `transport` pins the transport (an in-dialog request goes the way the
   * dialog came); otherwise `to.transport` or the default transport is used.
   */
  sendRequest(req: SipRequest, to: Destination, transport: Transport = this.transportFor(to)): Promise<SipResponse> {
    this.#topVia(req, transport);
    const key = clientKey(req);
    return new Promise<SipResponse>((resolve, reject) => {
      // Callbacks rather than tx.response: the transaction forgets them at its final response.
      const tx = new ClientTransaction(req, transport, to, this.#timers, this.#dropClient(key), { onResponse: resolve, onError: reject });
      if (tx.state !== 'terminated') this.#client.set(key, tx);
    });
  }

  /**
   * Sends an INVITE (a re-INVITE inside a dialog) through an INVITE client
   * transaction. The transaction ACKs a non-2xx response itself; a 2xx must
   * be acknowledged by the caller with `sendAck` (§13.2.2.4).
   */
  sendInvite(req: SipRequest, to: Destination, transport: Transport = this.transportFor(to)): InviteClientTransaction {
    this.#topVia(req, transport);
    const key = clientKey(req);
    const tx = new InviteClientTransaction(req, transport, to, this.#timers, this.#dropClient(key));
    if (tx.state !== 'terminated') this.#client.set(key, tx);
    return tx;
  }

  /**
   * The ACK for a 2xx: no transaction of its own (§17.1.1.3), a new branch
   * (§13.2.2.4). Sending the same ACK again (for a retransmitted 2xx) keeps its Via.
   */
  sendAck(ack: SipRequest, to: Destination, transport: Transport = this.transportFor(to)): void {
    if (ack.via.length === 0 || ack.via[0]!.host === 'placeholder') this.#topVia(ack, transport);
    transport.send(ack, to);
  }

  /**
   * The callback that removes a client transaction from the map. Made here,
   * not inline in sendRequest, so that the closure (kept for Timer K) does
   * not share sendRequest's scope and with it the request.
   */
  #dropClient(key: string): () => void {
    return () => this.#client.delete(key);
  }

  /** Writes our Via (transport, address, a new branch) on top; replaces a `placeholder` one. */
  #topVia(req: SipRequest, transport: Transport): string {
    const branch = newBranch();
    const via = `SIP/2.0/${transport.protocol} ${viaHost(this.#advertise ?? transport.local.address)}:${transport.local.port};branch=${branch};rport`;
    if (req.via[0]?.host === 'placeholder') req.setHeader('via', via);
    else req.addHeader('via', via, true);
    return branch;
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

function viaHost(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}

function dialogKey(callId: string, localTag: string | undefined): string {
  return `${callId}|${localTag ?? ''}`;
}
