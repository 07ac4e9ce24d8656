import { SipTimeoutError } from '../errors.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import type { Peer } from '../transport/udp-transport.js';
import { TimerSet } from './timer-set.js';
import { timers, type TimerBase } from './timers.js';

export interface RequestSender {
  readonly reliable: boolean;
  send(message: SipRequest, to: Peer): void;
}

/**
 * The non-INVITE client transaction of RFC 3261 §17.1.2 (BYE, OPTIONS,
 * REGISTER, INFO): Timer E retransmits on unreliable transports, doubling to
 * T2 (T2 at once after a provisional response), Timer F gives up, Timer K
 * absorbs response retransmissions after the final one.
 */
export class ClientTransaction {
  readonly request: SipRequest;
  readonly destination: Peer;
  readonly response: Promise<SipResponse>;
  #state: 'trying' | 'proceeding' | 'completed' | 'terminated' = 'trying';
  readonly #timers = new TimerSet();
  #resolve!: (res: SipResponse) => void;
  #reject!: (err: Error) => void;
  readonly #onTerminated: (tx: ClientTransaction) => void;
  onProvisional: ((res: SipResponse) => void) | undefined;

  constructor(request: SipRequest, sender: RequestSender, to: Peer, base: TimerBase, onTerminated: (tx: ClientTransaction) => void) {
    this.request = request;
    this.destination = to;
    this.#onTerminated = onTerminated;
    this.response = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    const t = timers(base, sender.reliable);
    sender.send(request, to);
    if (!sender.reliable) {
      let interval = t.E;
      const retransmit = () => {
        if (this.#state !== 'trying' && this.#state !== 'proceeding') return;
        sender.send(request, to);
        interval = this.#state === 'proceeding' ? base.T2 : Math.min(2 * interval, base.T2);
        this.#timers.after(interval, retransmit);
      };
      this.#timers.after(interval, retransmit);
    }
    this.#timers.after(t.F, () => {
      if (this.#state === 'completed' || this.#state === 'terminated') return;
      // §17.1.2.2: Timer F in Trying or Proceeding informs the TU of a timeout.
      this.#reject(new SipTimeoutError(`${request.method} transaction`, { destination: `${to.address}:${to.port}`, timerF: t.F }));
      this.#terminate();
    });
    this.#kMs = t.K;
  }

  readonly #kMs: number;

  get state(): string {
    return this.#state;
  }


  receive(res: SipResponse): void {
    if (this.#state === 'completed' || this.#state === 'terminated') return;
    if (res.status < 200) {
      this.#state = 'proceeding';
      this.onProvisional?.(res);
      return;
    }
    this.#state = 'completed';
    // Timers E and F are done with: clear them now rather than let each wake the process once more.
    this.#timers.clear();
    this.#resolve(res);
    if (this.#kMs === 0) this.#terminate();
    else this.#timers.wait(this.#kMs, () => this.#terminate());
  }

  #terminate(): void {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.dispose();
    this.#onTerminated(this);
  }

  dispose(): void {
    this.#timers.clear();
  }
}
