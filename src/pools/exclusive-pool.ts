import { PoolBase, type PoolEntry } from './pool-base.js';
import type { PooledConnection } from './types.js';

/**
 * One lease per connection: ASR streams, single-stream TTS sockets. The most
 * recently used idle connection goes first, so that a surplus idles long
 * enough for the pool to shrink it.
 */
export class ExclusivePool<C extends PooledConnection> extends PoolBase<C> {
  protected pick(): PoolEntry<C> | undefined {
    let best: PoolEntry<C> | undefined;
    for (const e of this.entries) {
      if (e.busy !== 0 || e.retiring || !e.conn.usable) continue;
      if (!best || e.idleSince > best.idleSince) best = e;
    }
    return best;
  }
}
