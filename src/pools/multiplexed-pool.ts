import { PoolBase, type PoolEntry } from './pool-base.js';
import type { PooledConnection } from './types.js';

/**
 * Up to `conn.capacity` leases per connection: HTTP/2 streams on a session,
 * contexts on a multi-context TTS socket. Leases go to the least loaded
 * connection, so one slow session does not hold every stream.
 */
export class MultiplexedPool<C extends PooledConnection> extends PoolBase<C> {
  protected pick(): PoolEntry<C> | undefined {
    let best: PoolEntry<C> | undefined;
    for (const e of this.entries) {
      if (e.retiring || e.busy >= e.conn.capacity || !e.conn.usable) continue;
      if (!best || e.busy < best.busy) best = e;
    }
    return best;
  }
}
