import { EventEmitter } from 'node:events';
import type { PooledConnection } from './types.js';

/** What a lease needs of its pool; the pool implements it. */
/**
 * Where a caller gets a connection: what the agent needs of a pool. Pools
 * implement it; so can a deliberately naive source (the benchmarks' lazy and
 * prewarm-one baselines) without pretending to be a pool.
 */
export interface LeaseSource<C extends PooledConnection> {
  acquire(options?: { signal?: AbortSignal }): Promise<Lease<C>>;
}

export interface LeaseOwner<C extends PooledConnection> {
  releaseLease(lease: Lease<C>): void;
  destroyLease(lease: Lease<C>, reason?: Error): void;
}

export interface LeaseEvents {
  /** The connection died while this lease held it; the pool is already replacing it. */
  lost: [cause: Error];
}

/**
 * One use of a pooled connection. The lessee calls `release()` when done (the
 * pool resets the connection and reuses or replaces it) or `destroy(err)` when
 * it saw something wrong. Both are idempotent; whichever comes first wins.
 */
export class Lease<C extends PooledConnection> extends EventEmitter<LeaseEvents> {
  readonly id: string;
  readonly conn: C;
  /** Time acquire() took, in ms. */
  readonly acquireMs: number;
  /** True when acquire() had to wait for a connection to open: a cold acquisition. */
  readonly waited: boolean;
  #owner: LeaseOwner<C> | undefined;

  constructor(owner: LeaseOwner<C>, id: string, conn: C, acquireMs: number, waited: boolean) {
    super();
    this.#owner = owner;
    this.id = id;
    this.conn = conn;
    this.acquireMs = acquireMs;
    this.waited = waited;
  }

  /** False once released, destroyed or lost. */
  get active(): boolean {
    return this.#owner !== undefined;
  }

  release(): void {
    const owner = this.#owner;
    if (!owner) return;
    this.#owner = undefined;
    owner.releaseLease(this);
  }

  destroy(reason?: Error): void {
    const owner = this.#owner;
    if (!owner) return;
    this.#owner = undefined;
    owner.destroyLease(this, reason);
  }

  /** Called by the pool when the connection died under this lease. */
  lose(cause: Error): void {
    if (!this.#owner) return;
    this.#owner = undefined;
    // A lessee that listens for nothing must not crash the process: 'lost' is not 'error'.
    this.emit('lost', cause);
  }
}
