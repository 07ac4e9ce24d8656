/**
 * Per-key token buckets with bounded memory: a Map kept in insertion order
 * (touched keys move to the end), so the oldest idle source is evicted first.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly ratePerSec: number, private readonly burst: number, private readonly maxKeys: number, private readonly now: () => number = Date.now) {}

  /** Takes one token; returns 0 when allowed, else seconds until a token is available. */
  take(key: string): number {
    const t = this.now();
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.ratePerSec);
      b.at = t;
    } else {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.burst, at: t };
    }
    this.buckets.set(key, b);
    if (b.tokens >= 1) { b.tokens -= 1; return 0; }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSec));
  }

  get size(): number { return this.buckets.size; }
}
