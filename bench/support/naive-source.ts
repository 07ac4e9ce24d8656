import { randomUUID } from 'node:crypto';
import { Lease, type ConnectionFactory, type LeaseOwner, type LeaseSource, type PooledConnection } from '../../src/pools/index.js';

/**
 * The connection handling bench:turn compares Warmline's pools against: none
 * of the pool's care. It opens on first use (the caller waits), keeps what it
 * opened for reuse, shares a multiplexed connection up to its capacity, and
 * never sends a keepalive, checks health, replaces or sizes anything.
 *
 * - lazy (jambonz's pattern): a fresh source per call, closed when the call ends;
 * - prewarm-one (LiveKit Agents' ConnectionPool): one source for the process,
 *   with one connection per upstream opened at start (`prewarm(1)`).
 *
 * A connection the provider closed while idle is skipped rather than handed
 * out: that gives the baselines the cheapest outcome (a fresh open) instead of
 * a failed send followed by one.
 */
export class NaiveSource<C extends PooledConnection> implements LeaseSource<C>, LeaseOwner<C> {
  readonly #factory: ConnectionFactory<C>;
  readonly #busy = new Map<C, number>();
  readonly #idle: C[] = [];
  readonly #byLease = new Map<Lease<C>, C>();
  /** Connections this source opened (each one a cold handshake). */
  opened = 0;
  #closed = false;

  constructor(factory: ConnectionFactory<C>) {
    this.#factory = factory;
  }

  async prewarm(n: number): Promise<void> {
    for (let i = 0; i < n; i++) this.#idle.push(await this.#open());
  }

  async #open(): Promise<C> {
    const conn = await this.#factory.open(new AbortController().signal);
    this.opened++;
    conn.on('close', (cause) => {
      for (const [lease, c] of this.#byLease) if (c === conn) lease.lose(cause ?? new Error('connection closed'));
    });
    return conn;
  }

  async acquire(): Promise<Lease<C>> {
    const t0 = performance.now();
    let conn: C | undefined;
    for (const [c, n] of this.#busy) if (c.usable && n < c.capacity) { conn = c; break; }
    while (!conn && this.#idle.length) {
      const c = this.#idle.shift()!;
      if (c.usable) conn = c;
    }
    const waited = !conn;
    conn ??= await this.#open();
    this.#busy.set(conn, (this.#busy.get(conn) ?? 0) + 1);
    const lease = new Lease<C>(this, randomUUID(), conn, performance.now() - t0, waited);
    this.#byLease.set(lease, conn);
    return lease;
  }

  #done(lease: Lease<C>): C | undefined {
    const conn = this.#byLease.get(lease);
    this.#byLease.delete(lease);
    if (!conn) return undefined;
    const n = (this.#busy.get(conn) ?? 1) - 1;
    if (n > 0) this.#busy.set(conn, n);
    else this.#busy.delete(conn);
    return conn;
  }

  releaseLease(lease: Lease<C>): void {
    const conn = this.#done(lease);
    if (!conn) return;
    void conn.reset(lease.id).then(
      (clean) => {
        if (!clean || this.#closed) conn.destroy();
        else if (!this.#busy.has(conn)) this.#idle.push(conn);
      },
      () => conn.destroy(),
    );
  }

  destroyLease(lease: Lease<C>, reason?: Error): void {
    this.#done(lease)?.destroy(reason);
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = [...this.#idle, ...this.#busy.keys()];
    this.#idle.length = 0;
    this.#busy.clear();
    await Promise.all(all.map((c) => c.close().catch(() => undefined)));
  }
}
