import type { PoolBase } from './pool-base.js';
import type { PoolOptions } from './pool-options.js';
import type { PoolStats } from './pool-stats.js';
import type { ConnectionFactory, PooledConnection } from './types.js';

export interface PoolSetOptions {
  /**
   * A pool whose key no call asked for in this long (and with nothing leased) drops its floor to 0
   * and closes its idle connections; the next call that asks for the key brings the floor back, and
   * the pool warms again. 0: never.
   */
  idleToZeroMs?: number;
  /**
   * Demand is expected for this key soon (learned from history: src/analytics/demand-forecast.ts).
   * Such a key is not dropped, and one at zero gets its floor back at the next sweep: warm before the
   * peak, not at its first call. Absent: only calls bring a key back.
   */
  demandSoon?: (key: string) => boolean;
  /**
   * Keys never dropped to zero whatever their calls (a standby region's pools, which failover needs
   * warm: src/boot/regions.ts). One at zero gets its floor back at the next sweep.
   */
  keep?: (key: string) => boolean;
  now?: () => number;
}

/**
 * Pools keyed by connection parameters. A socket opened for one model,
 * language, voice or account is never handed to a call that asked for another:
 * each factory key gets its own pool, created (and warmed) on first use, and
 * shared by every caller with the same parameters.
 */
export class PoolSet<C extends PooledConnection> {
  readonly #pools = new Map<string, PoolBase<C>>();
  readonly #create: (factory: ConnectionFactory<C>) => PoolBase<C>;
  readonly #idleMs: number;
  readonly #now: () => number;
  /** key → when a caller last asked for it. */
  readonly #wanted = new Map<string, number>();
  /** key → the floor it had before it went to zero. */
  readonly #zeroed = new Map<string, number>();
  readonly #sweeper: NodeJS.Timeout | undefined;
  readonly #demandSoon: ((key: string) => boolean) | undefined;
  readonly #keep: ((key: string) => boolean) | undefined;

  constructor(create: (factory: ConnectionFactory<C>) => PoolBase<C>, options: PoolSetOptions = {}) {
    this.#create = create;
    this.#idleMs = options.idleToZeroMs ?? 0;
    this.#now = options.now ?? Date.now;
    this.#demandSoon = options.demandSoon;
    this.#keep = options.keep;
    if (this.#idleMs > 0) {
      this.#sweeper = setInterval(() => this.sweep(), Math.min(5000, Math.max(100, Math.floor(this.#idleMs / 4))));
      this.#sweeper.unref();
    }
  }

  /** The pool for this factory's key; started on first use, warmed again if it had gone to zero. */
  get(factory: ConnectionFactory<C>): PoolBase<C> {
    let pool = this.#pools.get(factory.key);
    if (!pool) {
      pool = this.#create(factory);
      this.#pools.set(factory.key, pool);
      pool.start();
    }
    this.#wanted.set(factory.key, this.#now());
    this.#restore(factory.key, pool);
    return pool;
  }

  #restore(key: string, pool: PoolBase<C>): void {
    const floor = this.#zeroed.get(key);
    if (floor === undefined) return;
    this.#zeroed.delete(key);
    pool.setFloor(floor);
  }

  /**
   * Sets a key's floor: the one way to change it besides zeroing, so the two never overwrite each
   * other. A key at zero keeps 0 now and comes back to this floor when it is asked for again.
   */
  setFloor(key: string, floor: number): void {
    if (this.#zeroed.has(key)) {
      this.#zeroed.set(key, floor);
      return;
    }
    this.#pools.get(key)?.setFloor(floor);
  }

  /** Keys that went to zero for want of calls (and the floor each comes back to). */
  zeroed(): ReadonlyMap<string, number> {
    return this.#zeroed;
  }

  /** Drops to zero every pool nobody asked for within idleToZeroMs (the timer calls it; tests may too). */
  sweep(): void {
    if (this.#idleMs <= 0) return;
    const now = this.#now();
    for (const [key, pool] of this.#pools) {
      if (this.#keep?.(key) || this.#demandSoon?.(key)) {
        // Calls are expected within the lead time: the floor is (or comes back) up before they do.
        this.#restore(key, pool);
        continue;
      }
      if (this.#zeroed.has(key) || pool.min === 0) continue;
      const s = pool.stats();
      if (s.inUse > 0 || s.pending > 0 || now - (this.#wanted.get(key) ?? 0) < this.#idleMs) continue;
      this.#zeroed.set(key, pool.min);
      pool.setFloor(0);
      pool.closeIdle(s.size);
    }
  }

  has(key: string): boolean {
    return this.#pools.has(key);
  }

  /** The pool for a key if it exists, without starting it or counting a want (region health checks). */
  find(key: string): PoolBase<C> | undefined {
    return this.#pools.get(key);
  }

  pools(): PoolBase<C>[] {
    return [...this.#pools.values()];
  }

  stats(): PoolStats[] {
    return this.pools().map((p) => p.stats());
  }

  async close(): Promise<void> {
    if (this.#sweeper) clearInterval(this.#sweeper);
    await Promise.all(this.pools().map((p) => p.close()));
    this.#pools.clear();
  }
}

export type { PoolOptions };
