import { RingQueue } from './ring-queue.js';

interface Waiter<T> {
  readonly startedAt: number;
  resolve(value: T): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
  abort?: () => void;
}

/**
 * The acquirers waiting for a connection, oldest first. A waiter leaves the queue once: served,
 * timed out, aborted by its signal, or failed when the pool closes. Settled waiters are skipped
 * lazily, so a timeout costs no search through the queue.
 */
export class WaitQueue<T> {
  readonly #queue = new RingQueue<Waiter<T>>();
  #pending = 0;

  /** Waiters not yet settled. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Queues one acquirer. After `timeoutMs` it is settled and rejected with what `onTimeout`
   * returns (called after the waiter left the count, so the error sees the queue without it).
   */
  wait(startedAt: number, timeoutMs: number, signal: AbortSignal | undefined, onTimeout: (waitedMs: number) => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = { startedAt, resolve, reject, timer: undefined, settled: false };
      waiter.timer = setTimeout(() => {
        if (waiter.settled) return;
        this.#settle(waiter);
        reject(onTimeout(performance.now() - startedAt));
      }, timeoutMs);
      if (signal) {
        const aborted = () => signal.reason instanceof Error ? signal.reason : new Error('acquire aborted');
        if (signal.aborted) {
          this.#settleAndClear(waiter);
          reject(aborted());
          return;
        }
        const onAbort = () => {
          if (waiter.settled) return;
          this.#settleAndClear(waiter);
          reject(aborted());
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.abort = () => signal.removeEventListener('abort', onAbort);
      }
      this.#queue.push(waiter);
      this.#pending++;
    });
  }

  /**
   * Serves waiters oldest first while `pick` finds room; `grant` turns the pick into what the
   * waiter gets, after the waiter left the count.
   */
  serve<E>(pick: () => E | undefined, grant: (picked: E, startedAt: number) => T): void {
    while (this.#pending > 0) {
      const w = this.#queue.peek();
      if (!w) break;
      if (w.settled) {
        this.#queue.shift();
        continue;
      }
      const picked = pick();
      if (picked === undefined) break;
      this.#queue.shift();
      this.#settleAndClear(w);
      w.resolve(grant(picked, w.startedAt));
    }
    // drop settled waiters at the head so the queue does not hold them
    while (this.#queue.peek()?.settled) this.#queue.shift();
  }

  /** Rejects every waiter (the pool is closing). */
  failAll(error: () => Error): void {
    for (let w = this.#queue.shift(); w; w = this.#queue.shift()) {
      if (w.settled) continue;
      this.#settleAndClear(w);
      w.reject(error());
    }
  }

  #settle(w: Waiter<T>): void {
    w.settled = true;
    this.#pending--;
    w.abort?.();
  }

  #settleAndClear(w: Waiter<T>): void {
    this.#settle(w);
    if (w.timer) clearTimeout(w.timer);
  }
}
