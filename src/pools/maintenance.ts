import type { PoolEntry } from './pool-entry.js';
import type { PooledConnection } from './types.js';

/**
 * When the pool's maintenance pass runs: on a periodic tick, and once more on the next turn of
 * the event loop whenever something changed (a lease out, a connection gone). Never in an
 * acquirer's path.
 */
export class MaintenanceClock {
  readonly #run: () => void;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;

  constructor(run: () => void) {
    this.#run = run;
  }

  start(keepaliveMs: number): void {
    // The tick must run often enough to keep every connection's keepalive on time.
    const tick = keepaliveMs > 0 ? Math.max(10, Math.min(1000, keepaliveMs / 4)) : 1000;
    this.#timer = setInterval(this.#run, tick);
    this.#timer.unref();
  }

  /** One pass soon; several requests before it runs make one pass. */
  schedule(): void {
    if (this.#immediate) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      this.#run();
    });
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }
}

/** A keepalive is due on a connection that has none in flight and whose interval has passed. */
export function keepaliveDue<C extends PooledConnection>(e: PoolEntry<C>, now: number, keepaliveMs: number): boolean {
  if (keepaliveMs === 0 || e.keepaliveInFlight || now - e.lastKeepaliveAt < keepaliveMs) return false;
  // Exclusive connections in use are kept alive by their lessee's traffic (and the connector).
  return !(e.busy > 0 && e.conn.capacity === 1);
}

/**
 * Sends the connection's keepalive out of band. A keepalive that fails or takes longer than
 * `timeoutMs` (failed with `timeoutError()`) goes to `failed`; nothing reaches the caller.
 */
export function keepalive<C extends PooledConnection>(e: PoolEntry<C>, now: number, timeoutMs: number, timeoutError: () => Error, failed: (err: Error) => void, answered?: (ms: number) => void): void {
  e.keepaliveInFlight = true;
  e.lastKeepaliveAt = now;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), timeoutMs);
  });
  Promise.race([e.conn.keepalive(), timeout]).then(
    () => {
      clearTimeout(timer);
      e.keepaliveInFlight = false;
      answered?.(performance.now() - now);
    },
    (err: unknown) => {
      clearTimeout(timer);
      e.keepaliveInFlight = false;
      failed(err instanceof Error ? err : new Error(String(err)));
    },
  );
}

/** A smoothed round trip (EWMA, 0.3 to the newest): one slow answer on a loaded machine does not reorder regions. */
export class Smoothed {
  #v: number | undefined;

  get value(): number | undefined {
    return this.#v === undefined ? undefined : Math.round(this.#v * 100) / 100;
  }

  add(ms: number): void {
    this.#v = this.#v === undefined ? ms : this.#v * 0.7 + ms * 0.3;
  }
}
