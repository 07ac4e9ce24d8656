import type { AnalyticsStore } from './store-contract.js';

const WEEK_MS = 7 * 86_400_000;

export interface DemandForecastOptions {
  /** Weeks of history looked at (the same time of the week in each). */
  weeks: number;
  /** How far ahead of a peak its pool is warm again. */
  leadMs: number;
  now?: () => number;
}

/**
 * Which pool keys will be wanted soon, from the analytics store's pool snapshots: a key whose pool
 * had a lease out (in_use > 0) at this time of the week, from now to `leadMs` ahead, in any of the
 * last `weeks` weeks, is expected again; its expected peak is the highest in_use seen there. A rule a
 * person can check by hand: "Mondays at 09:00 this key had calls for the last four weeks, so at 08:45
 * its floor is back". Asked synchronously (the pool set's sweep): `refresh()` reads the store ahead.
 */
export class DemandForecast {
  readonly #store: AnalyticsStore;
  readonly #o: Required<DemandForecastOptions>;
  #peaks = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #refreshing: Promise<void> | undefined;
  /** stop() was called: a start() that comes later (e.g. after a migration the close ended) does nothing. */
  #stopped = false;

  constructor(store: AnalyticsStore, o: DemandForecastOptions) {
    this.#store = store;
    this.#o = { now: Date.now, ...o };
  }

  /** The highest in_use seen for the key in the coming window of past weeks; 0: no demand expected. */
  expected(key: string): number {
    return this.#peaks.get(key) ?? 0;
  }

  /** Every key expected, with its peak (/api and tests). */
  all(): ReadonlyMap<string, number> {
    return this.#peaks;
  }

  /** Reads the windows again: one indexed range query per week of history. */
  async refresh(): Promise<void> {
    const now = this.#o.now();
    const peaks = new Map<string, number>();
    for (let k = 1; k <= this.#o.weeks; k++) {
      const from = now - k * WEEK_MS;
      const rows = await this.#store.query<{ pool_key: string; peak: number }>(
        'SELECT pool_key, MAX(in_use) AS peak FROM pool_snapshots WHERE at >= ? AND at <= ? AND in_use > 0 GROUP BY pool_key',
        [from, from + this.#o.leadMs],
      );
      for (const r of rows) peaks.set(r.pool_key, Math.max(peaks.get(r.pool_key) ?? 0, Number(r.peak)));
    }
    this.#peaks = peaks;
  }

  /** Refreshes every `everyMs` (a failed read keeps the last forecast; `onError` hears why). */
  start(everyMs: number, onError: (err: unknown) => void): void {
    if (this.#stopped || this.#timer) return;
    const tick = () => {
      if (this.#refreshing) return;
      this.#refreshing = this.refresh().catch(onError).finally(() => { this.#refreshing = undefined; });
    };
    tick();
    this.#timer = setInterval(tick, everyMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
