import type { Lease } from './lease.js';
import type { CapacitySlot, PooledConnection } from './types.js';

/** One open connection and the pool's bookkeeping about it. */
export interface PoolEntry<C extends PooledConnection> {
  readonly conn: C;
  readonly slot: CapacitySlot;
  readonly leases: Set<Lease<C>>;
  /** Leases out plus leases being reset. */
  busy: number;
  readonly openedAt: number;
  readonly retireAt: number;
  lastKeepaliveAt: number;
  keepaliveInFlight: boolean;
  /** Leaving the pool: handed to no one. */
  retiring: boolean;
  idleSince: number;
  onClose: (cause?: Error) => void;
}

/** A fresh entry for a connection just opened; it retires after maxAgeMs ±10 %. */
export function createEntry<C extends PooledConnection>(conn: C, slot: CapacitySlot, maxAgeMs: number, now: number, onClose: (entry: PoolEntry<C>, cause?: Error) => void): PoolEntry<C> {
  // ±10 % jitter so that connections opened together do not all retire together.
  const age = maxAgeMs * (0.9 + Math.random() * 0.2);
  const entry: PoolEntry<C> = {
    conn, slot, leases: new Set(), busy: 0, openedAt: now, retireAt: now + age,
    lastKeepaliveAt: now, keepaliveInFlight: false, retiring: false, idleSince: now,
    onClose: (cause?: Error) => onClose(entry, cause),
  };
  return entry;
}

/** Unhooks the entry's connection from the pool, gives its capacity slot back and tells each lessee the lease is lost. */
export function detach<C extends PooledConnection>(entry: PoolEntry<C>, leaseError: () => Error): void {
  entry.conn.off('close', entry.onClose);
  entry.slot.release();
  for (const lease of entry.leases) lease.lose(leaseError());
  entry.leases.clear();
}
