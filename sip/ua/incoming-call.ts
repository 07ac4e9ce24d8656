import { EventEmitter } from 'node:events';
import { SipError, SipTimeoutError } from '../errors.js';
import { createResponse, type SipRequest, type SipResponse } from '../message/index.js';
import type { InviteClientTransaction } from '../transaction/invite-client-transaction.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import type { Peer, Transport } from '../transport/transport.js';
import { AckWait } from './ack-wait.js';
import { parseInfoDtmf } from './info-dtmf.js';
import { ReliableProvisional, takes100rel } from './reliable-provisional.js';
import { SessionRefresh } from './session-refresh.js';
import { uasDialogRequest } from './uas-dialog-request.js';
import { negotiateSession, type SessionNegotiation, type SessionTimerOptions } from './session-timer.js';

export type CallState = 'offered' | 'early' | 'answered' | 'confirmed' | 'ended';
export type EndReason = 'bye' | 'cancel' | 'hangup' | 'rejected' | 'ack-timeout' | 'prack-timeout' | 'shutdown' | 'session-expired';

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
  /** A NOTIFY in this dialog (a refer subscription's progress, RFC 3515): `respond` answers it. */
  notify: [req: SipRequest, respond: (status: number) => void];
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

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, PRACK';
const SUPPORTED = 'timer, 100rel';

/**
 * A call offered to us (UAS side of an INVITE dialog, RFC 3261 §12–13). The
 * 2xx is retransmitted by us, doubling from T1 to T2, until the ACK arrives
 * or 64·T1 pass (§13.3.1.4), in which case the dialog is ended with BYE.
 * With RFC 4028 session timers, the session is refreshed by us (UPDATE when
 * the caller allows it, else re-INVITE) or must be refreshed by the caller
 * before it expires, else we send BYE and end with 'session-expired'.
 * An INVITE without SDP (delayed offer) gets our offer in the 2xx; the
 * answer comes in the ACK (RFC 3264 §5), which answer() resolves with.
 * When the caller takes `100rel`, provisional responses go out reliably
 * (RFC 3262, ReliableProvisional) and the 2xx waits for their PRACK.
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
  #ackWait: AckWait | undefined;
  /** RFC 3262, when the INVITE allows it. */
  readonly #reliable: ReliableProvisional | undefined;
  #localCSeq = 1;
  #remoteCSeq: number;
  /** The 2xx of a re-INVITE, retransmitted until its ACK. */
  #reinviteAck: AckWait | undefined;
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
    this.#reliable = takes100rel(invite)
      ? new ReliableProvisional({ invite, t1: owner.t1, send: (res) => tx.respond(res), timedOut: () => this.#prackTimedOut() })
      : undefined;
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

  /** Does the caller take reliable provisional responses (RFC 3262 `100rel` in Supported or Require)? */
  get reliableProvisionals(): boolean {
    return this.#reliable !== undefined;
  }

  /** 180 Ringing or 183 Session Progress (with early-media SDP); reliable (RFC 3262) when the caller takes 100rel. */
  progress(status: 180 | 183, sdp?: string): void {
    if (this.#state !== 'offered' && this.#state !== 'early') return;
    this.#state = 'early';
    const res = createResponse(this.invite, status, { toTag: this.localTag, headers: { contact: `<${this.#owner.contactFor(this.transport)}>` }, ...(sdp && { body: sdp, contentType: 'application/sdp' }) });
    if (this.#reliable) this.#reliable.send(res);
    else this.#tx.respond(res);
  }

  /**
   * 200 OK with our SDP: the answer to the INVITE's offer or, for an INVITE
   * without one, our offer. Resolves with the SDP of the ACK (the answer to
   * that offer, RFC 3264 §5) once it arrives; rejects (and sends BYE) if it
   * never does. An unacknowledged reliable provisional response holds the 2xx
   * until its PRACK (RFC 3262 §3); one never PRACKed rejects the INVITE (5xx).
   */
  async answer(sdp: string): Promise<string | undefined> {
    if (this.#reliable?.pending && (this.#state === 'offered' || this.#state === 'early')) {
      const acknowledged = await this.#reliable.settled();
      if (!acknowledged && this.#reliable.timedOut) throw new SipTimeoutError('PRACK for a reliable provisional response', { callId: this.callId });
    }
    if (this.#state !== 'offered' && this.#state !== 'early') throw new SipError('SIP_ERR_STATE', `cannot answer a call in state ${this.#state}`, { callId: this.callId });
    this.#state = 'answered';
    this.#reliable?.stop();
    this.#localSdp = sdp;
    const res = createResponse(this.invite, 200, {
      toTag: this.localTag,
      headers: { contact: `<${this.#owner.contactFor(this.transport)}>`, allow: ALLOW, supported: SUPPORTED, ...this.#refresh.apply(this.#negotiated) },
      body: sdp,
      contentType: 'application/sdp',
    });
    if (this.invite.recordRoute.length) res.setHeader('record-route', ...this.invite.recordRoute.map(String));
    this.#answer = res;
    this.#tx.respond(res);
    this.#ackWait = new AckWait({
      t1: this.#owner.t1, t2: this.#owner.t2, callId: this.callId,
      resend: () => this.#tx.respond(res), // passes through in Accepted
      timedOut: () => {
        // The dialog ends now: a peer that never ACKed will likely not answer the BYE either (Timer F, 64·T1).
        this.#byeInBackground();
        this.#end('ack-timeout');
      },
    });
    const ack = await this.#ackWait.start();
    const answer = ack.body.length && /application\/sdp/i.test(ack.contentType ?? '') ? ack.body.toString('utf8') : undefined;
    // The answer to our delayed offer: a later re-INVITE repeating its o= line is a refresh.
    if (this.offer === undefined) this.#remoteOrigin = originLine(answer);
    return answer;
  }

  /** RFC 3262 §3: "If a reliable provisional response is retransmitted for 64*T1 seconds without reception of a corresponding PRACK, the UAS SHOULD reject the original request with a 5xx response." */
  #prackTimedOut(): void {
    if (this.#state !== 'offered' && this.#state !== 'early') return;
    this.#tx.respond(createResponse(this.invite, 504, { toTag: this.localTag, reason: 'Server Time-out (no PRACK)' }));
    this.#owner.refused(this, 504);
    this.#end('prack-timeout');
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
        this.#state = 'confirmed';
        this.#ackWait?.acked(req);
        this.emit('confirmed');
      } else if (this.#reinviteAck && req.cseq.seq === this.#remoteCSeq) {
        this.#reinviteAck.acked(req);
        this.#reinviteAck = undefined;
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
        tx.respond(createResponse(req, 200, { headers: { allow: ALLOW, supported: SUPPORTED, accept: 'application/sdp, application/dtmf-relay' } }));
        return;
      case 'PRACK':
        // RFC 3262 §3: a PRACK that matches no unacknowledged reliable provisional response gets 481.
        tx.respond(createResponse(req, this.#reliable?.prack(req) ? 200 : 481));
        return;
      case 'INVITE':
        this.#reinvite(req, tx);
        return;
      case 'UPDATE':
        this.#update(req, tx);
        return;
      case 'NOTIFY': // a REFER of ours subscribed us (refer-sender.ts listens); else 481 (RFC 6665 §4.1.3)
        if (!this.emit('notify', req, (status) => tx.respond(createResponse(req, status)))) tx.respond(createResponse(req, 481));
        return;
      default: // a REFER too: we transfer calls, we are never transferred (603 says so)
        tx.respond(req.method === 'REFER' ? createResponse(req, 603, { reason: 'Decline (this gateway does not accept REFER)' }) : createResponse(req, 501));
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
      const res = createResponse(req, 200, { headers: { contact: `<${this.#owner.contactFor(this.transport)}>`, supported: SUPPORTED, ...this.#refresh.apply(st) }, body: sdp, contentType: 'application/sdp' });
      tx.respond(res);
      this.#reinviteAck?.fail(new Error('superseded by a newer re-INVITE'));
      // A re-INVITE's 2xx unacknowledged for 64·T1 leaves the call as it is (the session timer, if any, decides).
      this.#reinviteAck = new AckWait({ t1: this.#owner.t1, t2: this.#owner.t2, callId: this.callId, resend: () => tx.respond(res), timedOut: () => undefined });
      this.#reinviteAck.start().catch(() => undefined);
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
        headers: { contact: `<${this.#owner.contactFor(this.transport)}>`, supported: SUPPORTED, ...this.#refresh.apply(st) },
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
    const dtmf = parseInfoDtmf(req);
    if (!dtmf) {
      tx.respond(createResponse(req, 415, { headers: { accept: 'application/dtmf-relay, application/dtmf' } }));
      return;
    }
    tx.respond(createResponse(req, 200));
    this.emit('dtmf', dtmf.digit, dtmf.durationMs);
  }

  /** @internal CANCEL for our INVITE (§9.2): 487 if still unanswered. */
  cancel(): boolean {
    if (this.#state !== 'offered' && this.#state !== 'early') return false;
    this.#tx.respond(createResponse(this.invite, 487, { toTag: this.localTag }));
    this.#end('cancel');
    return true;
  }

  /** A request inside our dialog (uas-dialog-request.ts); an ACK passes its INVITE's CSeq and the 2xx it acknowledges. */
  #inDialog(method: string, ackSeq?: number, res?: SipResponse): SipRequest {
    return uasDialogRequest(this.invite, this.localTag, this.transport.protocol, method, ackSeq ?? ++this.#localCSeq, res);
  }

  /** Sends a request in this dialog (REFER) and resolves with its final response. */
  request(method: string, headers: Record<string, string>): Promise<SipResponse> {
    const req = this.#inDialog(method);
    for (const [n, v] of Object.entries({ ...headers, contact: `<${this.#owner.contactFor(this.transport)}>` })) req.setHeader(n, v);
    return this.#owner.sendRequest(req, this.source, this.transport);
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
    this.#reliable?.stop();
    this.#reinviteAck?.fail(new Error(`call ended: ${reason}`));
    this.#refresh.stop();
    if (this.#ackWait?.waiting) this.#ackWait.fail(new SipError('SIP_ERR_STATE', `call ended: ${reason}`, { callId: this.callId, reason })); // not a stack per acknowledged call
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
