/** pino's shape, so the gateway's logger fits as is. */
export interface LeaseLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

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
  /**
   * A slot of a cap shared fairly between replicas (see sem-take-5.lua for the rule). `force` skips
   * the fair-share check but never the cap: it re-establishes a connection that is already open.
   */
  semaphoreTake(name: string, limit: number, owner: string, ttlMs: number, force: boolean): Promise<SemaphoreTake>;
  /** Renews, in one round trip, every slot `owner` believes it holds; says which are still held. */
  semaphoreHeartbeat(name: string, owner: string, ttlMs: number, tokens: readonly number[]): Promise<SemaphoreHeartbeat>;
  close(): Promise<void>;
}

/** What a replica learns about a shared cap each time it talks to the store. */
export interface SemaphoreView {
  /** Replicas that took or renewed a slot (or asked for one) within the TTL, the caller included. */
  readonly replicas: number;
  /** Other replicas refused a slot while under their fair share, still asking. */
  readonly othersWaiting: number;
  /** Live slots, all replicas together. */
  readonly total: number;
  /** Changes when the store lost its data (a Redis restart without persistence). */
  readonly epoch: string;
}

export interface SemaphoreTake { readonly grant: LeaseGrant | undefined; readonly view: SemaphoreView }
export interface SemaphoreHeartbeat {
  /** The tokens still held; their TTL was renewed. */
  readonly alive: ReadonlySet<number>;
  readonly view: SemaphoreView;
}

/** Fair share of a cap: what each live replica may keep while others wait. */
export function fairShare(limit: number, replicas: number): number {
  return Math.ceil(limit / Math.max(1, replicas));
}

/**
 * The local deadline is shorter than the store TTL so a replica stops acting before
 * another can take over: margin = max(50 ms, 10 % of the TTL) covers clock-rate drift and
 * the round trip of the renewal that could not be confirmed.
 */
export function localDeadline(startedAt: number, ttlMs: number): number {
  return startedAt + ttlMs - Math.max(50, ttlMs / 10);
}
