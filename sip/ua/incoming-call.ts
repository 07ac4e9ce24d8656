import { EventEmitter } from 'node:events';
import { SipTimeoutError } from '../errors.js';
import { createResponse, newBranch, SipRequest, type SipResponse } from '../message/index.js';
import type { InviteClientTransaction } from '../transaction/invite-client-transaction.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import type { Peer, Transport } from '../transport/transport.js';
import { SessionRefresh } from './session-refresh.js';
import { negotiateSession, type SessionNegotiation, type SessionTimerOptions } from './session-timer.js';

export type CallState = 'offered' | 'early' | 'answered' | 'confirmed' | 'ended';
export type EndReason = 'bye' | 'cancel' | 'hangup' | 'rejected' | 'ack-timeout' | 'shutdown' | 'session-expired';

export interface IncomingCallEvents {
  /** The caller confirmed the answer with ACK. */
  confirmed: [];
  /** DTMF over SIP INFO (application/dtmf-relay or application/dtmf). */
  dtmf: [digit: string, durationMs: number];
  /**
   * A re-INVITE (or UPDATE) with a new offer (hold, unhold, codec change);
   * `answer` gives the SDP for the 200. A session refresh that repeats the
   * previous offer unchanged (same o= line) is answered without this event.
   */
  reinvite: [offer: string | undefined, answer: (sdp: string) => void];
  ended: [reason: EndReason];
}

/** What the call needs of the user agent that owns it. */
export interface CallOwner {
  contactFor(transport: Transport): string;
  sendRequest(req: SipRequest, to: Peer, transport: Transport): Promise<SipResponse>;
  sendInvite(req: SipRequest, to: Peer, transport: Transport): InviteClientTransaction;
  sendAck(ack: SipRequest, to: Peer, transport: Transport): void;
  forget(call: IncomingCall): void;
  /** The INVITE got a final failure response from us (not the 487 after CANCEL). */
  refused(call: IncomingCall, status: number): void;
  readonly t1: number;
  readonly t2: number;
  readonly sessionTimers: Required<SessionTimerOptions>;
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE';

/**
 * A call offered to us (UAS side of an INVITE dialog, RFC 3261 §12–13). The
 * 2xx is retransmitted by us, doubling from T1 to T2, until the ACK arrives
 * or 64·T1 pass (§13.3.1.4), in which case the dialog is ended with BYE.
 * With RFC 4028 session timers, the session is refreshed by us (UPDATE when
 * the caller allows it, else re-INVITE) or must be refreshed by the caller
 * before it expires, else we send BYE and end with 'session-expired'.
 */
export class IncomingCall extends EventEmitter<IncomingCallEvents> {
  readonly invite: SipRequest;
  readonly source: Peer;
  /** The transport the INVITE came over; in-dialog requests we send use it too. */
  readonly transport: Transport;
  readonly localTag: string;
  readonly offer: string | undefined;
  #state: CallState = 'offered';
  readonly #tx: ServerTransaction;
  readonly #owner: CallOwner;
  #answer: SipResponse | undefined;
  #retransmit: NodeJS.Timeout | undefined;
  #ackWait: { resolve: () => void; reject: (e: Error) => void } | undefined;
  #localCSeq = 1;
  #remoteCSeq: number;
  #pendingReinvite: NodeJS.Timeout | undefined;
  /** What the INVITE asked of session timers (RFC 4028), applied when we answer. */
  readonly #negotiated: SessionNegotiation;
  readonly #refresh: SessionRefresh;
  #localSdp: string | undefined;
  /** The o= line of the peer's last offer: an identical one is a refresh, not a change (RFC 3264 §8). */
  #remoteOrigin: string | undefined;

  constructor(invite: SipRequest, source: Peer, tx: ServerTransaction, owner: CallOwner, localTag: string, transport: Transport) {
    super();
    this.invite = invite;
    this.source = source;
    this.transport = transport;
    this.#tx = tx;
    this.#owner = owner;
    this.localTag = localTag;
    this.#remoteCSeq = invite.cseq.seq;
    this.offer = invite.body.length && /application\/sdp/i.test(invite.contentType ?? '') ? invite.body.toString('utf8') : undefined;
    this.#remoteOrigin = originLine(this.offer);
    this.#negotiated = negotiateSession(invite, owner.sessionTimers);
    const call = this;
    this.#refresh = new SessionRefresh({
      invite, source, transport, owner,
      get confirmed() { return call.#state === 'confirmed'; },
      get ended() { return call.#state === 'ended'; },
      get localSdp() { return call.#localSdp; },
      inDialog: (method, ackSeq, res) => this.#inDialog(method, ackSeq, res),
      expire: () => this.#expire(),
    });
  }

  get state(): CallState {
    return this.#state;
  }

  get callId(): string {
    return this.invite.callId;
  }

  /** The remote party's tag (From tag of the INVITE). */
  get remoteTag(): string | undefined {
    return this.invite.from.tag;
  }

  /** The session interval in force (seconds) and who refreshes it, when RFC 4028 timers are on. */
  get sessionTimer(): { interval: number; refresher: 'us' | 'peer' } | undefined {
    return this.#refresh.timer;
  }

  /** 180 Ringing or 183 Session Progress (with early-media SDP). */
  progress(status: 180 | 183, sdp?: string): void {
    if (this.#state !== 'offered' && this.#state !== 'early') return;
    this.#state = 'early';
    this.#tx.respond(createResponse(this.invite, status, { toTag: this.localTag, headers: { contact: `<${this.#owner.contactFor(this.transport)}>` }, ...(sdp && { body: sdp, contentType: 'application/sdp' }) }));
  }

  /** 200 OK with our SDP; resolves when the ACK arrives, rejects (and sends BYE) if it never does. */
  answer(sdp: string): Promise<void> {
    if (this.#state !== 'offered' && this.#state !== 'early') return Promise.reject(new Error(`cannot answer a call in state ${this.#state}`));
    this.#state = 'answered';
    this.#localSdp = sdp;
    const res = createResponse(this.invite, 200, {
      toTag: this.localTag,
      headers: { contact: `<${this.#owner.contactFor(this.transport)}>`, allow: ALLOW, supported: 'timer', ...this.#refresh.apply(this.#negotiated) },
      body: sdp,
      contentType: 'application/sdp',
    });
    if (this.invite.recordRoute.length) res.setHeader('record-route', ...this.invite.recordRoute.map(String));
    this.#answer = res;
    this.#tx.respond(res);
    return this.#awaitAck(res);
  }

  #awaitAck(res: SipResponse): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#ackWait = { resolve, reject };
      let interval = this.#owner.t1;
      let waited = 0;
      // §13.3.1.4: the 2xx is retransmitted "independent of the transport protocol": a proxy may forward it over UDP.
      const tick = () => {
        waited += interval;
        if (waited >= 64 * this.#owner.t1) {
          this.#ackWait = undefined;
          reject(new SipTimeoutError('ACK for 2xx', { callId: this.callId }));
          // The dialog ends now: a peer that never ACKed will likely not answer the BYE either (Timer F, 64·T1).
          this.#byeInBackground();
          this.#end('ack-timeout');
          return;
        }
        this.#tx.respond(res); // passes through in Accepted
        interval = Math.min(2 * interval, this.#owner.t2);
        this.#retransmit = setTimeout(tick, interval);
      };
      this.#retransmit = setTimeout(tick, interval);
    });
  }

  /** Rejects the call: 486 Busy Here, 480, 503, 603…; `headers` e.g. Retry-After with a 503. */
  reject(status = 486, reason?: string, headers?: Record<string, string>): void {
    if (this.#state !== 'offered' && this.#state !== 'early') return;
    this.#tx.respond(createResponse(this.invite, status, { toTag: this.localTag, ...(reason && { reason }), ...(headers && { headers }) }));
    this.#owner.refused(this, status);
    this.#end('rejected');
  }

  /** Our side hangs up: BYE when confirmed, a rejection before that. */
  async hangup(): Promise<void> {
    if (this.#state === 'offered' || this.#state === 'early') return this.reject(480);
    if (this.#state === 'ended') return;
    await this.#sendBye().catch(() => undefined);
    this.#end('hangup');
  }

  /** @internal the user agent routes in-dialog requests here. */
  receiveInDialog(req: SipRequest, tx: ServerTransaction | undefined): void {
    if (req.method === 'ACK') {
      if (this.#state === 'answered' && req.cseq.seq === this.invite.cseq.seq) {
        clearTimeout(this.#retransmit);
        this.#state = 'confirmed';
        this.#ackWait?.resolve();
        this.#ackWait = undefined;
        this.emit('confirmed');
      } else if (this.#pendingReinvite && req.cseq.seq === this.#remoteCSeq) {
        clearTimeout(this.#pendingReinvite);
        this.#pendingReinvite = undefined;
      }
      return;
    }
    if (!tx) return;
    // §12.2.2: a lower CSeq than the last one is out of order.
    if (req.cseq.seq < this.#remoteCSeq) {
      tx.respond(createResponse(req, 500, { reason: 'CSeq Out of Order' }));
      return;
    }
    this.#remoteCSeq = req.cseq.seq;
    switch (req.method) {
      case 'BYE':
        tx.respond(createResponse(req, 200));
        this.#end('bye');
        return;
      case 'INFO':
        this.#info(req, tx);
        return;
      case 'OPTIONS':
        tx.respond(createResponse(req, 200, { headers: { allow: ALLOW, accept: 'application/sdp, application/dtmf-relay' } }));
        return;
      case 'INVITE':
        this.#reinvite(req, tx);
        return;
      case 'UPDATE':
        this.#update(req, tx);
        return;
      default:
        tx.respond(createResponse(req, 501));
    }
  }

  #reinvite(req: SipRequest, tx: ServerTransaction): void {
    if (this.#state !== 'confirmed' || this.#refresh.refreshing) {
      // §14.2: a re-INVITE while our own offer/answer is pending gets 491.
      tx.respond(createResponse(req, 491));
      return;
    }
    const st = negotiateSession(req, this.#owner.sessionTimers);
    if (st.kind === 'too-small') {
      tx.respond(createResponse(req, 422, { headers: { 'min-se': String(st.minSE) } }));
      return;
    }
    const offer = req.body.length ? req.body.toString('utf8') : undefined;
    const reply = (sdp: string) => {
      if (this.#state === 'ended') return;
      this.#localSdp = sdp;
      const res = createResponse(req, 200, { headers: { contact: `<${this.#owner.contactFor(this.transport)}>`, supported: 'timer', ...this.#refresh.apply(st) }, body: sdp, contentType: 'application/sdp' });
      tx.respond(res);
      clearTimeout(this.#pendingReinvite);
      let interval = this.#owner.t1;
      let waited = 0;
      const tick = () => {
        waited += interval;
        if (waited >= 64 * this.#owner.t1 || this.#state === 'ended') return;
        tx.respond(res);
        interval = Math.min(2 * interval, this.#owner.t2);
        this.#pendingReinvite = setTimeout(tick, interval);
      };
      this.#pendingReinvite = setTimeout(tick, interval);
    };
    this.#offerAnswer(req, offer, reply, tx);
  }

  /** RFC 3311 UPDATE: a session refresh (RFC 4028 §7.4), with or without a new offer. */
  #update(req: SipRequest, tx: ServerTransaction): void {
    const st = negotiateSession(req, this.#owner.sessionTimers);
    if (st.kind === 'too-small') {
      tx.respond(createResponse(req, 422, { headers: { 'min-se': String(st.minSE) } }));
      return;
    }
    const offer = req.body.length ? req.body.toString('utf8') : undefined;
    const reply = (sdp: string | undefined) => {
      if (this.#state === 'ended') return;
      if (sdp !== undefined) this.#localSdp = sdp;
      tx.respond(createResponse(req, 200, {
        headers: { contact: `<${this.#owner.contactFor(this.transport)}>`, supported: 'timer', ...this.#refresh.apply(st) },
        ...(sdp !== undefined && { body: sdp, contentType: 'application/sdp' }),
      }));
    };
    if (offer === undefined) {
      reply(undefined);
      return;
    }
    this.#offerAnswer(req, offer, reply, tx);
  }

  /** An unchanged offer (same o= line) is answered with our current SDP; a new one goes to the application. */
  #offerAnswer(req: SipRequest, offer: string | undefined, reply: (sdp: string) => void, tx: ServerTransaction): void {
    const origin = originLine(offer);
    if (origin !== undefined && origin === this.#remoteOrigin && this.#localSdp !== undefined) {
      reply(this.#localSdp);
      return;
    }
    if (this.listenerCount('reinvite') === 0) {
      tx.respond(createResponse(req, 488));
      return;
    }
    if (origin !== undefined) this.#remoteOrigin = origin;
    this.emit('reinvite', offer, reply);
  }

  #expire(): void {
    if (this.#state === 'ended') return;
    this.#byeInBackground();
    this.#end('session-expired');
  }

  #info(req: SipRequest, tx: ServerTransaction): void {
    const body = req.body.toString('utf8');
    const type = (req.contentType ?? '').toLowerCase();
    let digit: string | undefined;
    let duration = 100;
    if (type.startsWith('application/dtmf-relay')) {
      digit = /Signal\s*=\s*([0-9*#A-Da-d])/.exec(body)?.[1];
      duration = Number(/Duration\s*=\s*(\d+)/.exec(body)?.[1] ?? 100);
    } else if (type.startsWith('application/dtmf')) {
      digit = /^\s*([0-9*#A-Da-d])\s*$/.exec(body)?.[1];
    }
    if (!digit) {
      tx.respond(createResponse(req, 415, { headers: { accept: 'application/dtmf-relay, application/dtmf' } }));
      return;
    }
    tx.respond(createResponse(req, 200));
    this.emit('dtmf', digit.toUpperCase(), duration);
  }

  /** @internal CANCEL for our INVITE (§9.2): 487 if still unanswered. */
  cancel(): boolean {
    if (this.#state !== 'offered' && this.#state !== 'early') return false;
    this.#tx.respond(createResponse(this.invite, 487, { toTag: this.localTag }));
    this.#end('cancel');
    return true;
  }

  /**
   * A request inside our dialog (§12.2.1.1): the remote target is the
   * INVITE's Contact, the route set its Record-Route. An ACK reuses the
   * CSeq number of its INVITE and the To of the 2xx it acknowledges.
   */
  #inDialog(method: string, ackSeq?: number, res?: SipResponse): SipRequest {
    const target = this.invite.contact[0]?.uri ?? this.invite.from.uri;
    const req = new SipRequest(method, target);
    req.setHeader('via', `SIP/2.0/${this.transport.protocol} placeholder;branch=${newBranch()}`);
    req.setHeader('max-forwards', '70');
    req.setHeader('from', `${String(this.invite.to)};tag=${this.localTag}`);
    req.setHeader('to', res ? String(res.to) : String(this.invite.from));
    req.setHeader('call-id', this.callId);
    req.setHeader('cseq', `${ackSeq ?? ++this.#localCSeq} ${method}`);
    if (this.invite.recordRoute.length) req.setHeader('route', ...this.invite.recordRoute.map(String));
    return req;
  }

  async #sendBye(): Promise<void> {
    await this.#owner.sendRequest(this.#inDialog('BYE'), this.source, this.transport);
  }

  /**
   * A BYE nobody waits for (ACK timeout, session expiry, shutdown). Its failure
   * is owned here: a peer that vanished answers nothing, and Timer F's
   * SipTimeoutError 64·T1 later must not reach Node as an unhandled rejection.
   */
  #byeInBackground(): void {
    this.#sendBye().catch(() => undefined);
  }

  #end(reason: EndReason): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    clearTimeout(this.#retransmit);
    clearTimeout(this.#pendingReinvite);
    this.#refresh.stop();
    this.#ackWait?.reject(new Error(`call ended: ${reason}`));
    this.#ackWait = undefined;
    this.#owner.forget(this);
    this.emit('ended', reason);
  }

  /** @internal the user agent ends every call on shutdown. */
  shutdown(): void {
    if (this.#state === 'confirmed') this.#byeInBackground();
    else if (this.#state === 'offered' || this.#state === 'early') {
      this.#tx.respond(createResponse(this.invite, 503, { toTag: this.localTag }));
      this.#owner.refused(this, 503);
    }
    this.#end('shutdown');
  }

  /** The 2xx we sent, if any. */
  get answerResponse(): SipResponse | undefined {
    return this.#answer;
  }
}

function originLine(sdp: string | undefined): string | undefined {
  return sdp === undefined ? undefined : /^o=.*$/m.exec(sdp)?.[0].trim();
}
