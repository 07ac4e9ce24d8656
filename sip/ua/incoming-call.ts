import { EventEmitter } from 'node:events';
import { SipTimeoutError } from '../errors.js';
import { createResponse, newBranch, SipRequest, type SipResponse } from '../message/index.js';
import type { ServerTransaction } from '../transaction/server-transaction.js';
import type { Peer, Transport } from '../transport/transport.js';

export type CallState = 'offered' | 'early' | 'answered' | 'confirmed' | 'ended';
export type EndReason = 'bye' | 'cancel' | 'hangup' | 'rejected' | 'ack-timeout' | 'shutdown';

export interface IncomingCallEvents {
  /** The caller confirmed the answer with ACK. */
  confirmed: [];
  /** DTMF over SIP INFO (application/dtmf-relay or application/dtmf). */
  dtmf: [digit: string, durationMs: number];
  /** A re-INVITE with a new offer (hold, unhold, refresh); `answer` gives the SDP for the 200. */
  reinvite: [offer: string | undefined, answer: (sdp: string) => void];
  ended: [reason: EndReason];
}

/** What the call needs of the user agent that owns it. */
export interface CallOwner {
  contactFor(transport: Transport): string;
  sendRequest(req: SipRequest, to: Peer, transport: Transport): Promise<SipResponse>;
  forget(call: IncomingCall): void;
  readonly t1: number;
  readonly t2: number;
}

/**
 * A call offered to us (UAS side of an INVITE dialog, RFC 3261 §12–13). The
 * 2xx is retransmitted by us, doubling from T1 to T2, until the ACK arrives
 * or 64·T1 pass (§13.3.1.4), in which case the dialog is ended with BYE.
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
    const res = createResponse(this.invite, 200, {
      toTag: this.localTag,
      headers: { contact: `<${this.#owner.contactFor(this.transport)}>`, allow: 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE', supported: 'timer' },
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
      const tick = () => {
        waited += interval;
        if (waited >= 64 * this.#owner.t1) {
          this.#ackWait = undefined;
          reject(new SipTimeoutError('ACK for 2xx', { callId: this.callId }));
          void this.#sendBye().finally(() => this.#end('ack-timeout'));
          return;
        }
        this.#tx.respond(res); // passes through in Accepted
        interval = Math.min(2 * interval, this.#owner.t2);
        this.#retransmit = setTimeout(tick, interval);
      };
      this.#retransmit = setTimeout(tick, interval);
    });
  }

  /** Rejects the call: 486 Busy Here, 480, 503, 603… */
  reject(status = 486, reason?: string): void {
    if (this.#state !== 'offered' && this.#state !== 'early') return;
    this.#tx.respond(createResponse(this.invite, status, { toTag: this.localTag, ...(reason && { reason }) }));
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
        tx.respond(createResponse(req, 200, { headers: { allow: 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO', accept: 'application/sdp, application/dtmf-relay' } }));
        return;
      case 'INVITE':
        this.#reinvite(req, tx);
        return;
      default:
        tx.respond(createResponse(req, 501));
    }
  }

  #pendingReinvite: NodeJS.Timeout | undefined;

  #reinvite(req: SipRequest, tx: ServerTransaction): void {
    if (this.#state !== 'confirmed') {
      // §14.2: a re-INVITE while our own offer/answer is pending gets 491.
      tx.respond(createResponse(req, 491));
      return;
    }
    const offer = req.body.length ? req.body.toString('utf8') : undefined;
    const reply = (sdp: string) => {
      const res = createResponse(req, 200, { headers: { contact: `<${this.#owner.contactFor(this.transport)}>` }, body: sdp, contentType: 'application/sdp' });
      tx.respond(res);
      let interval = this.#owner.t1;
      const tick = () => {
        tx.respond(res);
        interval = Math.min(2 * interval, this.#owner.t2);
        this.#pendingReinvite = setTimeout(tick, interval);
      };
      this.#pendingReinvite = setTimeout(tick, interval);
      setTimeout(() => clearTimeout(this.#pendingReinvite), 64 * this.#owner.t1).unref();
    };
    if (this.listenerCount('reinvite') === 0) {
      tx.respond(createResponse(req, 488));
      return;
    }
    this.emit('reinvite', offer, reply);
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

  async #sendBye(): Promise<void> {
    // §12.2.1.1: the remote target is the Contact of the INVITE, the route set its Record-Route.
    const target = this.invite.contact[0]?.uri ?? this.invite.from.uri;
    const bye = new SipRequest('BYE', target);
    bye.setHeader('via', `SIP/2.0/UDP placeholder;branch=${newBranch()}`);
    bye.setHeader('max-forwards', '70');
    bye.setHeader('from', `${String(this.invite.to)};tag=${this.localTag}`);
    bye.setHeader('to', String(this.invite.from));
    bye.setHeader('call-id', this.callId);
    bye.setHeader('cseq', `${++this.#localCSeq} BYE`);
    if (this.invite.recordRoute.length) bye.setHeader('route', ...this.invite.recordRoute.map(String));
    await this.#owner.sendRequest(bye, this.source, this.transport);
  }

  #end(reason: EndReason): void {
    if (this.#state === 'ended') return;
    this.#state = 'ended';
    clearTimeout(this.#retransmit);
    clearTimeout(this.#pendingReinvite);
    this.#ackWait?.reject(new Error(`call ended: ${reason}`));
    this.#ackWait = undefined;
    this.#owner.forget(this);
    this.emit('ended', reason);
  }

  /** @internal the user agent ends every call on shutdown. */
  shutdown(): void {
    if (this.#state === 'confirmed') void this.#sendBye().catch(() => undefined);
    else if (this.#state === 'offered' || this.#state === 'early') this.#tx.respond(createResponse(this.invite, 503, { toTag: this.localTag }));
    this.#end('shutdown');
  }

  /** The 2xx we sent, if any. */
  get answerResponse(): SipResponse | undefined {
    return this.#answer;
  }
}
