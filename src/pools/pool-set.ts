import type { PoolBase } from './pool-base.js';
import type { PoolOptions } from './pool-options.js';
import type { PoolStats } from './pool-stats.js';
import type { ConnectionFactory, PooledConnection } from './types.js';

/**
 * Pools keyed by connection parameters. A socket opened for one model,
 * language or voice is never handed to a call that asked for another: each
 * factory key gets its own pool, created (and warmed) on first use.
 */
export class PoolSet<C extends PooledConnection> {
  readonly #pools = new Map<string, PoolBase<C>>();
  readonly #create: (factory: ConnectionFactory<C>) => PoolBase<C>;

  constructor(create: (factory: ConnectionFactory<C>) => PoolBase<C>) {
    this.#create = create;
  }

  /** The pool for this factory's key; started on first use. */
  get(factory: ConnectionFactory<C>): PoolBase<C> {
    let pool = this.#pools.get(factory.key);
    if (!pool) {
      pool = this.#create(factory);
      this.#pools.set(factory.key, pool);
      pool.start();
    }
    return pool;
  }

  has(key: string): boolean {
    return this.#pools.has(key);
  }

  pools(): PoolBase<C>[] {
    return [...this.#pools.values()];
  }

  stats(): PoolStats[] {
    return this.pools().map((p) => p.stats());
  }

  async close(): Promise<void> {
    await Promise.all(this.pools().map((p) => p.close()));
    this.#pools.clear();
  }
}

export type { PoolOptions };
