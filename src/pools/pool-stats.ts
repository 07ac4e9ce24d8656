import type { LatencyWindow } from './latency-window.js';
import type { PoolEntry } from './pool-entry.js';
import type { PooledConnection } from './types.js';

export type PoolState = 'idle' | 'warming' | 'ready' | 'degraded' | 'failed' | 'closing' | 'closed';

export interface PoolEvents {
  /** A connection opened (warm-up progress). */
  open: [stats: { size: number; min: number }];
  /** A connection left the pool; `cause` when it was not the pool's choice. */
  close: [info: { connection: string; cause?: Error }];
  /** The floor was reached. */
  ready: [];
  state: [state: PoolState];
  exhausted: [error: Error];
  'keepalive-failed': [error: Error];
  'open-failed': [error: Error];
}

export interface PoolStats {
  name: string;
  upstream: string;
  key: string;
  state: PoolState;
  ready: boolean;
  min: number;
  max: number;
  target: number;
  /** Open connections. */
  size: number;
  /** Connections that carry no lease. */
  idle: number;
  /** Leases out. */
  inUse: number;
  /** Lease capacity of the open connections. */
  capacity: number;
  /** acquire() calls waiting. */
  pending: number;
  /** Opens in progress. */
  opening: number;
  /** The provider's cap (across replicas) refused this pool its last slot. */
  capped: boolean;
  /** Opens the provider's cap refused a slot since the pool was built (each retried after at most 1 s). */
  capRefusals: number;
  opens: number;
  closes: number;
  replacements: number;
  openFailures: number;
  /** Failed opens since the last one that succeeded: above 0, the pool cannot open a connection now. */
  failuresInARow: number;
  keepaliveFailures: number;
  exhausted: number;
  acquisitions: number;
  acquireP50Ms: number;
  acquireP95Ms: number;
  acquireP99Ms: number;
  /** p95 over the window above SLOW_ACQUIRE_P95_MS. */
  acquireSlow: boolean;
  lastError?: string;
  /**
   * Round trip of the keepalives answered, smoothed (ASR WebSocket ping/pong, HTTP/2 PING; a TTS
   * keepalive is a send and says little). Absent until one was answered. Ranks regions by distance.
   */
  keepaliveRttMs?: number;
}

/** The pool's running totals since it was built; PoolStats and the Prometheus counters read them. */
export class PoolCounters {
  opens = 0;
  closes = 0;
  replacements = 0;
  keepaliveFailures = 0;
  exhausted = 0;
  acquisitions = 0;
  /** Replacements asked for (an evicted or retiring connection) that no open has filled yet. */
  pendingReplacements = 0;

  /** A connection opened: it fills a pending replacement first. */
  opened(): void {
    this.opens++;
    if (this.pendingReplacements > 0) {
      this.pendingReplacements--;
      this.replacements++;
    }
  }
}

/** What the pool knows beyond its entries and counters, at the moment of a snapshot. */
export type PoolFacts = Omit<PoolStats, 'size' | 'idle' | 'capacity' | 'opens' | 'closes' | 'replacements' | 'keepaliveFailures' | 'exhausted' | 'acquisitions' | 'acquireP50Ms' | 'acquireP95Ms' | 'acquireP99Ms' | 'lastError'> & { lastError: Error | undefined };

/** A plain PoolStats snapshot: sums over the entries, the counters, and the latency percentiles. */
export function snapshot<C extends PooledConnection>(facts: PoolFacts, entries: readonly PoolEntry<C>[], c: PoolCounters, latency: LatencyWindow): PoolStats {
  let idle = 0;
  let capacity = 0;
  for (const e of entries) {
    if (e.busy === 0) idle++;
    capacity += e.conn.capacity;
  }
  const p = latency.percentiles();
  const { lastError, ...rest } = facts;
  const s: PoolStats = {
    ...rest, size: entries.length, idle, capacity,
    opens: c.opens, closes: c.closes, replacements: c.replacements, keepaliveFailures: c.keepaliveFailures,
    exhausted: c.exhausted, acquisitions: c.acquisitions, acquireP50Ms: p.p50, acquireP95Ms: p.p95, acquireP99Ms: p.p99,
  };
  if (lastError) s.lastError = lastError.message;
  return s;
}
