import type { PoolEntry } from './pool-entry.js';
import type { PooledConnection } from './types.js';

const PEAK_BUCKETS = 12;

/**
 * Peak concurrency (leases out plus acquirers waiting) over a sliding window, kept as the
 * maximum of each of 12 buckets so that reading it is a scan of 12 numbers, never of history.
 */
export class PeakWindow {
  readonly #bucketMs: number;
  readonly #peaks = new Array<number>(PEAK_BUCKETS).fill(0);
  #bucket = 0;
  #bucketStart = 0;

  constructor(windowMs: number) {
    this.#bucketMs = windowMs / PEAK_BUCKETS;
  }

  start(now: number): void {
    this.#bucketStart = now;
  }

  /** Moves to the bucket of `now`; each bucket entered starts at the concurrency of the moment. */
  rotate(now: number, current: number): void {
    while (now - this.#bucketStart >= this.#bucketMs) {
      this.#bucketStart += this.#bucketMs;
      this.#bucket = (this.#bucket + 1) % PEAK_BUCKETS;
      this.#peaks[this.#bucket] = current;
    }
  }

  /** Records a concurrency seen now (on every grant: one compare). */
  note(current: number): void {
    if (current > this.#peaks[this.#bucket]!) this.#peaks[this.#bucket] = current;
  }

  peak(): number {
    let peak = 0;
    for (const p of this.#peaks) if (p > peak) peak = p;
    return peak;
  }
}

/** Target size: peak concurrency plus headroom, in connections of `perConnection` leases, within [min, max]. */
export function targetSize(peak: number, headroom: number, perConnection: number, min: number, max: number): number {
  const wanted = Math.ceil((peak * (1 + headroom)) / perConnection);
  return Math.min(max, Math.max(min, wanted));
}

/** Grow to the target, and beyond it (up to max) while acquirers wait: enough connections for every waiter. */
export function growTarget(target: number, open: number, pending: number, perConnection: number, max: number): number {
  if (pending === 0) return target;
  return Math.min(max, Math.max(target, open + Math.ceil(pending / perConnection)));
}

/** Shrink slowly: one surplus connection per pass, and only one idle for a full window. */
export function shrinkCandidate<C extends PooledConnection>(entries: readonly PoolEntry<C>[], now: number, idleMs: number): PoolEntry<C> | undefined {
  return entries.find((e) => !e.retiring && e.busy === 0 && now - e.idleSince >= idleMs);
}

/** Connections to open now: the deficit, but after a failure one probe at a time instead of a burst. */
export function openBurst(deficit: number, failures: number, opening: number): number {
  if (deficit <= 0) return 0;
  return failures > 0 ? (opening > 0 ? 0 : 1) : deficit;
}
