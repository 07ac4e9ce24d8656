import { SipError, SipTimeoutError, type SipTransportError } from '../errors.js';
import type { SipRequest, SipResponse } from '../message/index.js';
import type { Peer } from '../transport/transport.js';
import { TimerSet } from './timer-set.js';
import { timers, type TimerBase } from './timers.js';

export interface RequestSender {
  readonly reliable: boolean;
  /** `onError`: the message could not be sent (a refused connection, no WebSocket to the peer). */
  send(message: SipRequest, to: Peer, onError?: (err: SipTransportError) => void): void;
}

/** Who hears how a client transaction ends (SIP.js's TransactionUser, reduced to what we use). */
export interface ClientTransactionUser {
  /** The final response. */
  onResponse(res: SipResponse): void;
  /** Timer F fired, or the transport failed (§17.1.4). */
  onError(err: SipTimeoutError | SipTransportError): void;
}

/**
 * The non-INVITE client transaction of RFC 3261 §17.1.2 (BYE, OPTIONS,
 * REGISTER, INFO, UPDATE): Timer E retransmits on unreliable transports,
 * doubling to T2 (T2 at once after a provisional response), Timer F gives
 * up, Timer K absorbs response retransmissions after the final one. During
 * Timer K the transaction holds neither request nor response: 10,000
 * registrations refreshing every 30 s would otherwise keep ~1,700 of each
 * alive (and promoted to the old generation) at any time.
 */
export class ClientTransaction {
  readonly destination: Peer;
  readonly method: string;
  onProvisional: ((res: SipResponse) => void) | undefined;
  #request: SipRequest | undefined;
  #user: ClientTransactionUser | undefined;
  #promise: Promise<SipResponse> | undefined;
  #settle: ClientTransactionUser | undefined;
  #state: 'trying' | 'proceeding' | 'completed' | 'terminated' = 'trying';
  readonly #timers = new TimerSet();
  readonly #onTerminated: (tx: ClientTransaction) => void;
  readonly #kMs: number;

  constructor(request: SipRequest, sender: RequestSender, to: Peer, base: TimerBase, onTerminated: (tx: ClientTransaction) => void, user?: ClientTransactionUser) {
    this.#request = request;
    this.method = request.method;
    this.destination = to;
    this.#onTerminated = onTerminated;
    this.#user = user;
    const t = timers(base, sender.reliable);
    this.#kMs = t.K;
    const onError = (err: SipTransportError) => this.#fail(err);
    sender.send(request, to, onError);
    if (!sender.reliable) {
      let interval = t.E;
      const retransmit = () => {
        if (this.#state !== 'trying' && this.#state !== 'proceeding') return;
        sender.send(request, to, onError);
        interval = this.#state === 'proceeding' ? base.T2 : Math.min(2 * interval, base.T2);
        this.#timers.after(interval, retransmit);
      };
      this.#timers.after(interval, retransmit);
    }
    // §17.1.2.2: Timer F in Trying or Proceeding informs the TU of a timeout.
    this.#timers.after(t.F, () => this.#fail(new SipTimeoutError(`${request.method} transaction`, { destination: `${to.address}:${to.port}`, timerF: t.F })));
  }

  get state(): string {
    return this.#state;
  }

  /** The request, until the transaction completes. */
  get request(): SipRequest | undefined {
    return this.#request;
  }

  /**
   * The final response; rejects with SipTimeoutError (Timer F) or
   * SipTransportError. Read it while the transaction runs (UserAgent's
   * sendRequest does, at once); afterwards it rejects with SIP_ERR_STATE.
   */
  get response(): Promise<SipResponse> {
    if (!this.#promise) {
      if (this.#state === 'completed' || this.#state === 'terminated') return Promise.reject(new SipError('SIP_ERR_STATE', `the ${this.method} transaction already ended`));
      this.#promise = new Promise((resolve, reject) => { this.#settle = { onResponse: resolve, onError: reject }; });
    }
    return this.#promise;
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
    const user = this.#user;
    const settle = this.#settle;
    this.#release();
    user?.onResponse(res);
    settle?.onResponse(res);
    if (this.#kMs === 0) this.#terminate();
    else this.#timers.wait(this.#kMs, () => this.#terminate());
  }

  #fail(err: SipTimeoutError | SipTransportError): void {
    if (this.#state === 'completed' || this.#state === 'terminated') return;
    const user = this.#user;
    const settle = this.#settle;
    this.#release();
    user?.onError(err);
    settle?.onError(err);
    this.#terminate();
  }

  #release(): void {
    this.#request = undefined;
    this.#user = undefined;
    this.#settle = undefined;
    this.#promise = undefined;
    this.onProvisional = undefined;
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
