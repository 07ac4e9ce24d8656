/** A held lease or semaphore slot. `token` is a fencing token: strictly increasing per key/semaphore. */
export interface LeaseGrant {
  readonly key: string;
  readonly owner: string;
  readonly token: number;
  /** Local clock (performance.now()) after which the holder must stop acting, whatever Redis says. */
  readonly localDeadline: number;
}

export interface LeaseStore {
  acquire(key: string, owner: string, ttlMs: number): Promise<LeaseGrant | undefined>;
  /** True when the grant was still current and its TTL was renewed. */
  extend(grant: LeaseGrant, ttlMs: number): Promise<boolean>;
  /** True when the grant was current and is now released; never releases another holder's grant. */
  release(grant: LeaseGrant): Promise<boolean>;
  semaphoreTryAcquire(name: string, limit: number, owner: string, ttlMs: number): Promise<LeaseGrant | undefined>;
  semaphoreExtend(grant: LeaseGrant, ttlMs: number): Promise<boolean>;
  semaphoreRelease(grant: LeaseGrant): Promise<boolean>;
  /** Live (unexpired) holders of a semaphore. */
  semaphoreCount(name: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * The local deadline is shorter than the store TTL so a replica stops acting before
 * another can take over: margin = max(50 ms, 10 % of the TTL) covers clock-rate drift and
 * the round trip of the renewal that could not be confirmed.
 */
export function localDeadline(startedAt: number, ttlMs: number): number {
  return startedAt + ttlMs - Math.max(50, ttlMs / 10);
}
