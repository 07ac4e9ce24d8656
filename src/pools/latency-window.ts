/**
 * The last N acquisition latencies, for p50/p95/p99 on demand. Recording is
 * one store into a preallocated Float64Array: the acquire path pays nothing
 * more; the sort happens only when stats are read.
 */
export class LatencyWindow {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;
  #total = 0;

  constructor(size = 2048) {
    this.#samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
    this.#total++;
  }

  /** Samples recorded since `cursor` (a value this returned before; 0 at first), oldest first; returns the new cursor. */
  since(cursor: number, each: (ms: number) => void): number {
    const n = Math.min(this.#total - cursor, this.#count);
    const size = this.#samples.length;
    for (let i = n; i > 0; i--) each(this.#samples[(this.#next - i + size) % size]!);
    return this.#total;
  }

  get count(): number {
    return this.#count;
  }

  /** Nearest-rank percentiles of the window, or zeros when empty. */
  percentiles(): { p50: number; p95: number; p99: number } {
    if (this.#count === 0) return { p50: 0, p95: 0, p99: 0 };
    const sorted = this.#samples.slice(0, this.#count).sort();
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
    return { p50: at(50), p95: at(95), p99: at(99) };
  }
}
