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

  constructor(create: (factory: ConnectionFactory<C>) => PoolBase<C>, options: PoolSetOptions = {}) {
    this.#create = create;
    this.#idleMs = options.idleToZeroMs ?? 0;
    this.#now = options.now ?? Date.now;
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
    const floor = this.#zeroed.get(factory.key);
    if (floor !== undefined) {
      this.#zeroed.delete(factory.key);
      pool.setFloor(floor);
    }
    return pool;
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
