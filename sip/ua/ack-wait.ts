import { SipTimeoutError } from '../errors.js';
import type { SipRequest } from '../message/index.js';

export interface AckWaitOptions {
  t1: number;
  t2: number;
  /** Sends the 2xx again. */
  resend(): void;
  /** 64·T1 passed without an ACK: the owner ends the dialog (BYE). */
  timedOut(): void;
  callId: string;
}

interface Waiter {
  resolve(ack: SipRequest): void;
  reject(e: Error): void;
}

/**
 * The UAS core's wait for the ACK of its 2xx (RFC 3261 §13.3.1.4): the 2xx
 * is retransmitted, doubling from T1 up to T2, "independent of the transport
 * protocol" (a proxy may forward it over UDP), until the ACK arrives or 64·T1
 * pass. The promise resolves with the ACK (it may carry the answer to an
 * offer we made in the 2xx, RFC 3264 §5), or rejects.
 */
export class AckWait {
  readonly #o: AckWaitOptions;
  #timer: NodeJS.Timeout | undefined;
  #waiter: Waiter | undefined;

  constructor(o: AckWaitOptions) {
    this.#o = o;
  }

  start(): Promise<SipRequest> {
    return new Promise<SipRequest>((resolve, reject) => {
      this.#waiter = { resolve, reject };
      let interval = this.#o.t1;
      let waited = 0;
      const tick = () => {
        waited += interval;
        if (waited >= 64 * this.#o.t1) {
          this.#settle()?.reject(new SipTimeoutError('ACK for 2xx', { callId: this.#o.callId }));
          this.#o.timedOut();
          return;
        }
        this.#o.resend();
        interval = Math.min(2 * interval, this.#o.t2);
        this.#timer = setTimeout(tick, interval);
      };
      this.#timer = setTimeout(tick, interval);
    });
  }

  get waiting(): boolean {
    return this.#waiter !== undefined;
  }

  acked(ack: SipRequest): void {
    this.#settle()?.resolve(ack);
  }

  /** The dialog ended before the ACK: the waiter learns why. */
  fail(err: Error): void {
    this.#settle()?.reject(err);
  }

  #settle(): Waiter | undefined {
    clearTimeout(this.#timer);
    const w = this.#waiter;
    this.#waiter = undefined;
    return w;
  }
}
