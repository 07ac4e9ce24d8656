import type { BackoffOptions, PoolLogger } from './pool-options.js';
import { isPermanentOpenError, type CapacityGate, type CapacitySlot, type ConnectionFactory, type PooledConnection } from './types.js';

/** What the opener tells its pool. */
export interface OpenerHost<C extends PooledConnection> {
  /** The pool stopped taking connections: one that opens now is destroyed. */
  readonly closing: boolean;
  /** A connection opened and holds `slot`. */
  adopt(conn: C, slot: CapacitySlot): void;
  /** The provider's cap refused a slot, the first time since it last granted one. */
  capReached(): void;
  /** An open failed; the next attempt waits `retryInMs`. */
  openFailed(err: Error, permanent: boolean, retryInMs: number): void;
  /** An attempt ended, whichever way (a chance to open more). */
  attemptDone(): void;
}

/**
 * Opening connections: a capacity slot first (the provider's cap across replicas), then the
 * factory's open, then the pool adopts the connection. Failures back off with full jitter; a
 * permanent failure (a rejected key) waits the longest interval. The opener only counts and
 * times attempts: what a failure means for the pool's state is the pool's business.
 */
export class Opener<C extends PooledConnection> {
  readonly #factory: ConnectionFactory<C>;
  readonly #gate: CapacityGate;
  readonly #backoff: Readonly<BackoffOptions>;
  readonly #log: PoolLogger;
  readonly #pool: string;
  readonly #host: OpenerHost<C>;
  readonly #aborts = new Set<AbortController>();
  /** Opens in progress. */
  opening = 0;
  /** Consecutive failures since the last success. */
  failures = 0;
  openFailures = 0;
  lastError: Error | undefined;
  /** The last attempt found no capacity slot (the provider cap is full across replicas). */
  capped = false;
  /** Opens the provider's cap refused a slot (each retried after at most a second). */
  capRefusals = 0;
  #nextOpenAt = 0;

  constructor(o: { pool: string; factory: ConnectionFactory<C>; gate: CapacityGate; backoff: Readonly<BackoffOptions>; log: PoolLogger; host: OpenerHost<C> }) {
    this.#pool = o.pool;
    this.#factory = o.factory;
    this.#gate = o.gate;
    this.#backoff = o.backoff;
    this.#log = o.log;
    this.#host = o.host;
  }

  /** False while backing off. */
  mayOpen(now: number): boolean {
    return now >= this.#nextOpenAt;
  }

  /** Starts one attempt; its outcome reaches the host, never the caller. */
  open(): void {
    // #openOne reports an open's failure to the host itself; what is left (a throwing listener) is logged, never unhandled.
    this.#openOne().catch((err: unknown) => this.#log.error({ pool: this.#pool, err }, 'opening a connection failed unexpectedly'));
  }

  /** A connection was adopted: the backoff ends. Returns how many failures preceded it. */
  succeeded(): number {
    const failures = this.failures;
    this.failures = 0;
    this.#nextOpenAt = 0;
    return failures;
  }

  /** Aborts every open in progress (the pool is closing). */
  abortAll(reason: Error): void {
    for (const a of this.#aborts) a.abort(reason);
  }

  // Every outcome is handled inside: the promise never rejects, so `void` in open() is safe.
  async #openOne(): Promise<void> {
    this.opening++;
    const abort = new AbortController();
    this.#aborts.add(abort);
    let slot: CapacitySlot | undefined;
    try {
      slot = await this.#gate.tryTake(abort.signal);
      if (!slot) {
        // The provider's cap is reached across replicas: try again later, without a storm.
        this.#nextOpenAt = performance.now() + Math.min(this.#backoff.maxMs, 1000);
        this.capRefusals++;
        if (!this.capped) {
          this.capped = true;
          this.#log.info({ pool: this.#pool }, "the provider's concurrency cap is reached: holding fewer connections than wanted");
          this.#host.capReached();
        }
        return;
      }
      this.capped = false;
      const conn = await this.#factory.open(abort.signal);
      if (this.#host.closing) {
        conn.destroy();
        slot.release();
        return;
      }
      this.#host.adopt(conn, slot);
    } catch (err) {
      slot?.release();
      if (this.#host.closing) return;
      this.#failed(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.opening--;
      this.#aborts.delete(abort);
      this.#host.attemptDone();
    }
  }

  #failed(err: Error): void {
    this.failures++;
    this.openFailures++;
    this.lastError = err;
    const permanent = isPermanentOpenError(err);
    // A rejected key will not fix itself: try rarely. Otherwise full jitter (AWS architecture
    // blog): uniform in [0, min(max, initial × factor^(n-1))].
    const { initialMs, maxMs, factor } = this.#backoff;
    const delay = permanent ? maxMs : Math.max(1, Math.random() * Math.min(maxMs, initialMs * factor ** (this.failures - 1)));
    this.#nextOpenAt = performance.now() + delay;
    if (!permanent) {
      const log = this.failures === 1 ? 'warn' : 'debug';
      this.#log[log]({ pool: this.#pool, err, failures: this.failures, retryInMs: Math.round(delay) }, 'opening an upstream connection failed');
    }
    this.#host.openFailed(err, permanent, delay);
  }
}
