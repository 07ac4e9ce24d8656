/**
 * One timer for every registration: a binary min-heap of due times, with a
 * single setTimeout armed for the earliest. 10,000 registrations cost one
 * timer, not 10,000 (entries are invalidated by generation, not removed).
 */
export class Schedule {
  private heap: Array<{ at: number; key: string; gen: number }> = [];
  private readonly gens = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private armedAt = Infinity;
  private closed = false;

  /**
   * `slackMs`: entries due within this many ms of the first due one run in the
   * same wakeup (up to that much early). At 10,000 registrations refreshing
   * every 30 s, one wakeup per refresh was most of the pool's CPU; batching
   * also lets the responses arrive together and be read in one loop turn.
   */
  constructor(private readonly run: (key: string) => void, private readonly now: () => number = Date.now, private readonly slackMs = 0) {}

  at(key: string, when: number): void {
    const gen = (this.gens.get(key) ?? 0) + 1;
    this.gens.set(key, gen);
    this.push({ at: when, key, gen });
    if (when < this.armedAt) this.arm();
  }

  cancel(key: string): void { this.gens.set(key, (this.gens.get(key) ?? 0) + 1); }

  close(): void { this.closed = true; if (this.timer) clearTimeout(this.timer); this.timer = undefined; this.heap = []; }

  get size(): number { return this.heap.length; }

  private arm(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const top = this.heap[0];
    if (!top) { this.timer = undefined; this.armedAt = Infinity; return; }
    this.armedAt = top.at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, top.at - this.now()));
  }

  private fire(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const t = this.now() + this.slackMs;
    const due: string[] = [];
    while (this.heap.length && this.heap[0]!.at <= t) {
      const e = this.pop()!;
      if (this.gens.get(e.key) === e.gen) due.push(e.key);
    }
    for (const k of due) this.run(k);
    this.arm();
  }

  private push(e: { at: number; key: string; gen: number }): void {
    const h = this.heap; h.push(e);
    let i = h.length - 1;
    while (i > 0) { const p = (i - 1) >> 1; if (h[p]!.at <= h[i]!.at) break; [h[p], h[i]] = [h[i]!, h[p]!]; i = p; }
  }

  private pop(): { at: number; key: string; gen: number } | undefined {
    const h = this.heap; const top = h[0]; const last = h.pop();
    if (h.length && last) {
      h[0] = last; let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1; let m = i;
        if (l < h.length && h[l]!.at < h[m]!.at) m = l;
        if (r < h.length && h[r]!.at < h[m]!.at) m = r;
        if (m === i) break; [h[m], h[i]] = [h[i]!, h[m]!]; i = m;
      }
    }
    return top;
  }
}
