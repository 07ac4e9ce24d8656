/**
 * Fixed-bin histogram of send-time deviations (10 µs bins up to 100 ms, one overflow bin).
 * The pacer records one value per frame — 50 000 a second at 1000 calls — so it must not
 * allocate or sort on the hot path; quantiles are read from the bins on demand.
 */
const BIN_MS = 0.01;
const BINS = 10_000;

export class SendJitterHistogram {
  private readonly bins = new Uint32Array(BINS + 1);
  count = 0;
  max = 0;

  record(deviationMs: number): void {
    const v = deviationMs < 0 ? -deviationMs : deviationMs;
    const i = Math.floor(v / BIN_MS);
    this.bins[i < BINS ? i : BINS]!++;
    this.count++;
    if (v > this.max) this.max = v;
  }

  /** Upper edge of the bin holding the q-quantile (so it never understates), in ms. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.min(this.count, Math.max(1, Math.ceil(q * this.count)));
    let seen = 0;
    for (let i = 0; i <= BINS; i++) {
      seen += this.bins[i]!;
      if (seen >= rank) return i === BINS ? this.max : Math.min(this.max, (i + 1) * BIN_MS);
    }
    return this.max;
  }

  reset(): void {
    this.bins.fill(0);
    this.count = 0;
    this.max = 0;
  }
}
