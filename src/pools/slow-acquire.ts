import type { LatencyWindow } from './latency-window.js';
import type { PoolLogger } from './pool-options.js';

/** A warm acquire is microseconds; a p95 above this means callers are waiting for opens. */
export const SLOW_ACQUIRE_P95_MS = 5;

/**
 * Warns, once per change, when the acquisition p95 over the latency window passes
 * SLOW_ACQUIRE_P95_MS. Checked from maintenance, at most every `checkMs` and only when there
 * were acquisitions since the last check, so the sort never runs on an idle pool.
 */
export class SlowAcquireCheck {
  readonly #pool: string;
  readonly #checkMs: number;
  readonly #log: PoolLogger;
  #slow = false;
  #lastCheck = 0;
  #acquisitionsAtLastCheck = 0;

  constructor(pool: string, checkMs: number, log: PoolLogger) {
    this.#pool = pool;
    this.#checkMs = checkMs;
    this.#log = log;
  }

  get slow(): boolean {
    return this.#slow;
  }

  check(now: number, acquisitions: number, latency: LatencyWindow): void {
    if (now - this.#lastCheck < this.#checkMs || acquisitions === this.#acquisitionsAtLastCheck) return;
    this.#lastCheck = now;
    this.#acquisitionsAtLastCheck = acquisitions;
    const p95 = latency.percentiles().p95;
    const slow = p95 > SLOW_ACQUIRE_P95_MS;
    if (slow && !this.#slow) this.#log.warn({ pool: this.#pool, p95Ms: p95 }, `acquisition p95 above ${SLOW_ACQUIRE_P95_MS} ms: the pool is too small for its load`);
    this.#slow = slow;
  }
}
