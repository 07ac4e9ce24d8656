import type { SipRequest, SipResponse } from '../message/index.js';
import { TimerSet } from './timer-set.js';
import { timers, type TimerBase } from './timers.js';

/** What a transaction needs of its transport. */
export interface ResponseSender {
  readonly reliable: boolean;
  sendResponse(res: SipResponse): void;
}

export type ServerState = 'trying' | 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

const ALLOWED: Record<ServerState, readonly ServerState[]> = {
  trying: ['proceeding', 'completed', 'terminated'],
  proceeding: ['completed', 'accepted', 'terminated'],
  completed: ['confirmed', 'terminated'],
  confirmed: ['terminated'],
  accepted: ['terminated'],
  terminated: [],
};

/**
 * The INVITE and non-INVITE server transactions of RFC 3261 §17.2, with the
 * Accepted state of RFC 6026 for INVITEs answered with 2xx. Retransmitted
 * requests are absorbed here (the last response goes out again); the TU sees
 * each request once.
 */
export class ServerTransaction {
  /**
   * The request, until a final response is sent. Afterwards the transaction
   * only absorbs retransmissions (for up to 64·T1) and needs none of it, so
   * it lets go: thousands of finished calls must not keep their INVITEs.
   */
  request: SipRequest | undefined;
  readonly method: string;
  readonly invite: boolean;
  #state: ServerState;
  #last: SipResponse | undefined;
  readonly #sender: ResponseSender;
  readonly #t: ReturnType<typeof timers>;
  readonly #base: TimerBase;
  readonly #timers = new TimerSet();
  readonly #onTerminated: (tx: ServerTransaction) => void;
  /** Called when an INVITE's non-2xx final response was never acknowledged (Timer H). */
  onAckTimeout: (() => void) | undefined;

  constructor(request: SipRequest, sender: ResponseSender, base: TimerBase, onTerminated: (tx: ServerTransaction) => void) {
    this.request = request;
    this.method = request.method;
    this.invite = request.method === 'INVITE';
    // §17.2.1: an INVITE server transaction starts in Proceeding; §17.2.2: a non-INVITE one in Trying.
    this.#state = this.invite ? 'proceeding' : 'trying';
    this.#sender = sender;
    this.#base = base;
    this.#t = timers(base, sender.reliable);
    this.#onTerminated = onTerminated;
  }

  get state(): ServerState {
    return this.#state;
  }

  get lastResponse(): SipResponse | undefined {
    return this.#last;
  }

  #to(next: ServerState): void {
    if (!ALLOWED[this.#state].includes(next)) throw new Error(`Invalid state transition from ${this.#state} to ${next}`);
    this.#state = next;
    if (next === 'terminated') {
      this.dispose();
      this.#onTerminated(this);
    }
  }


  /** The TU's response to the request (or, in Accepted, its 2xx retransmission). */
  respond(res: SipResponse): void {
    if (this.#state === 'terminated') return;
    if (this.#state === 'accepted') {
      // RFC 6026 §8.7: in Accepted, 2xx retransmissions from the TU pass to the transport.
      if (res.status >= 200 && res.status < 300) this.#sender.sendResponse(res);
      return;
    }
    if (this.#state === 'completed' || this.#state === 'confirmed') return;
    this.#last = res;
    this.#sender.sendResponse(res);
    if (res.status < 200) {
      if (this.#state === 'trying') this.#to('proceeding');
      return;
    }
    this.request = undefined;
    // Timers are armed in methods of their own: a closure made here would share this call's
    // context, and with it `res`, keeping every final response alive for 64·T1.
    if (!this.invite) {
      // §17.2.2: Completed, then Timer J absorbs request retransmissions.
      this.#to('completed');
      this.#terminateAfter(this.#t.J);
      return;
    }
    if (res.status < 300) {
      // RFC 6026 §8.5: Accepted; Timer L absorbs INVITE retransmissions (no response: the TU retransmits the 2xx, so we need not keep it).
      this.#last = undefined;
      this.#to('accepted');
      this.#terminateAfter(this.#t.L);
      return;
    }
    // §17.2.1: Completed; Timer G retransmits the response (UDP), Timer H gives up on the ACK.
    this.#to('completed');
    if (!this.#sender.reliable) this.#retransmitAfter(this.#t.G);
    this.#timers.after(this.#t.H, () => {
      if (this.#state !== 'completed') return;
      this.onAckTimeout?.();
      this.#to('terminated');
    });
  }

  #terminateAfter(ms: number): void {
    if (ms === 0) this.#to('terminated');
    else this.#timers.wait(ms, () => this.#to('terminated'));
  }

  /** Timer G: the non-2xx final response again, doubling up to T2, while Completed. */
  #retransmitAfter(interval: number): void {
    this.#timers.after(interval, () => {
      if (this.#state !== 'completed' || !this.#last) return;
      this.#sender.sendResponse(this.#last);
      this.#retransmitAfter(Math.min(2 * interval, this.#base.T2));
    });
  }

  /** The same request again (a retransmission), or the ACK of a non-2xx final response. */
  receive(req: SipRequest): void {
    if (req.method === 'ACK') {
      if (this.#state === 'completed') {
        // Timers G and H are done with once the ACK is in.
        this.#timers.clear();
        this.#to('confirmed');
        this.#terminateAfter(this.#t.I);
      }
      return;
    }
    // §17.2.1/§17.2.2: a retransmission gets the most recent response again.
    if ((this.#state === 'proceeding' || this.#state === 'completed') && this.#last) this.#sender.sendResponse(this.#last);
  }

  dispose(): void {
    this.#timers.clear();
  }
}
