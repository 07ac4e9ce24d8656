import { newBranch, SipRequest, type SipResponse } from '../message/index.js';
import { REL100 } from './reliable-provisional.js';
import type { ReliableProvisionalHook } from './outgoing-call.js';

/** What became of one provisional response given to PrackSender.receive(). */
export type ProvisionalOutcome =
  /** Reliable and next in sequence: a PRACK was built and handed to `send`. */
  | { kind: 'prack'; prack: SipRequest; rseq: number }
  /** A retransmission of one already PRACKed (same early dialog, RSeq not above the last). */
  | { kind: 'duplicate'; rseq: number }
  /** Reliable, but RSeq skips ahead: §4 says do not PRACK it and do not process it further. */
  | { kind: 'out-of-order'; rseq: number; expected: number }
  /** Not a reliable provisional response (no Require: 100rel, a 100, a final response, no usable RSeq). */
  | { kind: 'unreliable' };

export interface PrackSenderOptions {
  /** The INVITE we sent (its From, Call-ID and CSeq; the PRACK's RAck names its CSeq). */
  invite: SipRequest;
  /**
   * The CSeq number for the next request of ours in the dialog (§12.2.1.1: one
   * higher than the last); the outgoing call owns this counter.
   */
  nextCSeq(): number;
  /**
   * Sends the PRACK (a non-INVITE client transaction: UserAgent.sendRequest to
   * the outgoing call's destination). Its failure is the caller's to own.
   */
  send(prack: SipRequest, provisional: SipResponse): void;
}

/**
 * The UAC half of RFC 3262 for one outgoing INVITE: each reliable 18x
 * (Require: 100rel with an RSeq) is acknowledged once with a PRACK whose
 * RAck is `RSeq CSeq-number INVITE` (§7.2), sent inside the early dialog the
 * 18x made (§7.1: Request-URI from its Contact, route set from its
 * Record-Route reversed, To with its tag). Retransmitted 18x (same RSeq) are
 * recognised and not PRACKed again; the PRACK's own retransmission is its
 * client transaction's job. Early dialogs (forking: different To tags) keep
 * their own sequence (§4).
 */
export class PrackSender {
  readonly #o: PrackSenderOptions;
  /** To tag of the early dialog → the highest RSeq PRACKed in it. */
  readonly #last = new Map<string, number>();

  constructor(o: PrackSenderOptions) {
    this.#o = o;
  }

  receive(res: SipResponse): ProvisionalOutcome {
    if (res.status <= 100 || res.status >= 200) return { kind: 'unreliable' };
    const reliable = res.headerValues('require').flatMap((v) => v.split(',')).some((t) => t.trim().toLowerCase() === REL100);
    const rseq = Number(res.header('rseq')?.trim());
    const tag = res.to.tag;
    if (!reliable || !Number.isInteger(rseq) || rseq < 1 || rseq > 2 ** 32 - 1 || tag === undefined) return { kind: 'unreliable' };
    const last = this.#last.get(tag);
    if (last !== undefined && rseq <= last) return { kind: 'duplicate', rseq };
    // §4: after the first, each reliable response's RSeq must be one higher; a gap means one went missing.
    if (last !== undefined && rseq !== last + 1) return { kind: 'out-of-order', rseq, expected: last + 1 };
    this.#last.set(tag, rseq);
    const prack = this.build(res, rseq);
    this.#o.send(prack, res);
    return { kind: 'prack', prack, rseq };
  }

  /** The PRACK for `res` (§7.1), with a `placeholder` Via the user agent replaces with its own. */
  build(res: SipResponse, rseq: number): SipRequest {
    const invite = this.#o.invite;
    const target = res.contact[0]?.uri ?? invite.uri;
    const req = new SipRequest('PRACK', target);
    req.setHeader('via', `SIP/2.0/UDP placeholder;branch=${newBranch()}`);
    req.setHeader('max-forwards', '70');
    req.setHeader('from', String(invite.from));
    req.setHeader('to', String(res.to));
    req.setHeader('call-id', invite.callId);
    req.setHeader('cseq', `${this.#o.nextCSeq()} PRACK`);
    req.setHeader('rack', `${rseq} ${invite.cseq.seq} ${invite.cseq.method}`);
    // §12.1.2: the UAC's route set is the Record-Route of the response, reversed.
    if (res.recordRoute.length) req.setHeader('route', ...[...res.recordRoute].reverse().map(String));
    return req;
  }
}

/**
 * The OutgoingCall hook that PRACKs reliable 18x: one PrackSender per INVITE sent (a digest retry
 * is a new INVITE, with its own RSeq space). A PRACK that gets no answer is not retried beyond its
 * transaction: the INVITE's 2xx (or its failure) still settles the call.
 */
export function reliableProvisionals(onError?: (err: unknown) => void): ReliableProvisionalHook {
  const senders = new WeakMap<SipRequest, PrackSender>();
  return {
    acknowledge(res, invite, send, nextCSeq) {
      let s = senders.get(invite);
      if (!s) senders.set(invite, (s = new PrackSender({ invite, nextCSeq, send: (prack) => { send(prack).catch((err: unknown) => onError?.(err)); } })));
      s.receive(res);
    },
  };
}
