import { SipTimeoutError, type SipTransportError } from '../errors.js';
import { SipRequest, type SipResponse } from '../message/index.js';
import type { Peer } from '../transport/transport.js';
import type { RequestSender } from './client-transaction.js';
import { TimerSet } from './timer-set.js';
import { timers, type TimerBase } from './timers.js';

export type InviteClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

const ALLOWED: Record<InviteClientState, readonly InviteClientState[]> = {
  calling: ['proceeding', 'completed', 'accepted', 'terminated'],
  proceeding: ['completed', 'accepted', 'terminated'],
  completed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
};

/**
 * The INVITE client transaction of RFC 3261 §17.1.1 with the Accepted state
 * of RFC 6026. Timer A retransmits the INVITE on unreliable transports
 * (doubling, no cap), Timer B gives up. A non-2xx final response is
 * acknowledged here, by an ACK on the same branch, again for each
 * retransmission of that response until Timer D fires (0 on reliable
 * transports). A 2xx is the TU's to acknowledge (§13.2.2.4: its ACK is a new
 * transaction); its retransmissions, which Timer M lets through, are passed
 * to `on2xxRetransmission` so the TU can send its ACK again.
 */
export class InviteClientTransaction {
  readonly request: SipRequest;
  readonly destination: Peer;
  /** The first final response; rejects with SipTimeoutError when Timer B fires first. */
  readonly response: Promise<SipResponse>;
  onProvisional: ((res: SipResponse) => void) | undefined;
  on2xxRetransmission: ((res: SipResponse) => void) | undefined;
  #state: InviteClientState = 'calling';
  #ack: SipRequest | undefined;
  /** The TU gave this INVITE up before any response (stopRetransmitting): Timer A sends no more. */
  #quiet = false;
  readonly #sender: RequestSender;
  readonly #t: ReturnType<typeof timers>;
  readonly #timers = new TimerSet();
  readonly #onTerminated: (tx: InviteClientTransaction) => void;
  #resolve!: (res: SipResponse) => void;
  #reject!: (err: Error) => void;

  constructor(request: SipRequest, sender: RequestSender, to: Peer, base: TimerBase, onTerminated: (tx: InviteClientTransaction) => void) {
    this.request = request;
    this.destination = to;
    this.#sender = sender;
    this.#onTerminated = onTerminated;
    this.#t = timers(base, sender.reliable);
    this.response = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // Callers that only care about provisional responses must not see an unhandled rejection.
    this.response.catch(() => undefined);
    // §17.1.4: a transport error ends the transaction at once.
    const onError = (err: SipTransportError) => {
      if (this.#state !== 'calling' && this.#state !== 'proceeding') return;
      this.#reject(err);
      this.#to('terminated');
    };
    sender.send(request, to, onError);
    if (!sender.reliable) {
      // §17.1.1.2: Timer A starts at T1 and doubles on each retransmission while Calling.
      let interval = this.#t.A;
      const retransmit = () => {
        if (this.#state !== 'calling' || this.#quiet) return;
        sender.send(request, to, onError);
        interval *= 2;
        this.#timers.after(interval, retransmit);
      };
      this.#timers.after(interval, retransmit);
    }
    this.#timers.after(this.#t.B, () => {
      if (this.#state !== 'calling' && this.#state !== 'proceeding') return;
      // §17.1.1.2 fires Timer B in Calling only; in Proceeding a UAC's TU would CANCEL. Our INVITEs are
      // re-INVITEs, answered at once or never, so Timer B bounds Proceeding too: no transaction lives forever.
      this.#reject(new SipTimeoutError('INVITE transaction', { destination: `${to.address}:${to.port}`, timerB: this.#t.B }));
      this.#to('terminated');
    });
  }

  get state(): InviteClientState {
    return this.#state;
  }

  /** The ACK this transaction sent for a non-2xx final response. */
  get ack(): SipRequest | undefined {
    return this.#ack;
  }

  /**
   * The TU gave up on a silent destination (no response at all) and tries another: the INVITE is
   * not sent again, but the transaction lives on until Timer B so that a late response still
   * reaches the TU, which cancels (a provisional, §9.1) or ACKs and ends (a 2xx) what it no longer wants.
   */
  stopRetransmitting(): void {
    this.#quiet = true;
  }

  #to(next: InviteClientState): void {
    if (!ALLOWED[this.#state].includes(next)) throw new Error(`Invalid state transition from ${this.#state} to ${next}`);
    this.#state = next;
    if (next === 'terminated') {
      this.dispose();
      this.#onTerminated(this);
    }
  }

  receive(res: SipResponse): void {
    switch (this.#state) {
      case 'calling':
      case 'proceeding':
        if (res.status < 200) {
          if (this.#state === 'calling') this.#to('proceeding');
          this.onProvisional?.(res);
          return;
        }
        // Timers A and B are done with.
        this.#timers.clear();
        if (res.status < 300) {
          // RFC 6026 §8.4: Accepted; Timer M lets 2xx retransmissions (and forks' 2xx) reach the TU.
          this.#to('accepted');
          this.#resolve(res);
          this.#timers.wait(this.#t.M, () => this.#to('terminated'));
          return;
        }
        // §17.1.1.2: Completed; ACK the final response, Timer D absorbs its retransmissions.
        this.#to('completed');
        this.#ack = buildNonSuccessAck(this.request, res);
        this.#sender.send(this.#ack, this.destination);
        this.#resolve(res);
        if (this.#t.D === 0) this.#to('terminated');
        else this.#timers.wait(this.#t.D, () => this.#to('terminated'));
        return;
      case 'completed':
        // §17.1.1.2: a retransmitted final response gets the ACK again and is not passed up.
        if (res.status >= 300 && this.#ack) this.#sender.send(this.#ack, this.destination);
        return;
      case 'accepted':
        if (res.status >= 200 && res.status < 300) this.on2xxRetransmission?.(res);
        return;
      case 'terminated':
        return;
    }
  }

  dispose(): void {
    this.#timers.clear();
  }
}

/**
 * §17.1.1.3: the ACK for a non-2xx final response: the INVITE's Request-URI,
 * Call-ID, From, CSeq number and Route set, its top Via only (same branch),
 * and the To of the response (which carries the remote tag).
 */
export function buildNonSuccessAck(invite: SipRequest, res: SipResponse): SipRequest {
  return onInviteBranch(invite, 'ACK', String(res.to));
}

/**
 * A request that belongs to the INVITE's own transaction (the ACK for a non-2xx, §17.1.1.3, and
 * CANCEL, §9.1): the INVITE's Request-URI, Call-ID, From, CSeq number and Route set, its top Via
 * only (the same branch is how the peer matches it), and the given To.
 */
export function onInviteBranch(invite: SipRequest, method: 'ACK' | 'CANCEL', to: string): SipRequest {
  const req = new SipRequest(method, invite.uri);
  req.setHeader('via', String(invite.via[0]));
  req.setHeader('max-forwards', '70');
  req.setHeader('from', String(invite.from));
  req.setHeader('to', to);
  req.setHeader('call-id', invite.callId);
  req.setHeader('cseq', `${invite.cseq.seq} ${method}`);
  if (invite.route.length) req.setHeader('route', ...invite.route.map(String));
  return req;
}
