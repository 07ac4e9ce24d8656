import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { localDeadline, type LeaseGrant, type LeaseLogger, type LeaseStore } from './types.js';
import { checkName, checkTtl } from './validate.js';

export interface OwnershipOptions {
  store: LeaseStore;
  replicaId: string;
  keys: readonly string[];
  ttlMs: number;
  /**
   * How often leases are renewed and free keys are claimed; default min(ttl/3, 1000). A dead
   * owner's keys are re-registered within ttl + scanMs of its death.
   */
  scanMs?: number;
  logger?: LeaseLogger;
}

export interface OwnershipEvents {
  /** This replica now owns `key` and may act on it until `grant.localDeadline` unless renewed. */
  acquired: [key: string, grant: LeaseGrant];
  /** This replica must stop acting on `key` (it may already have, see isOwner). */
  lost: [key: string, reason: string];
  /** The store stopped answering: owned keys run out at their local deadlines. */
  degraded: [error: Error];
  /** The store answers again: free keys are claimed on this and later scans. */
  recovered: [];
}

const MEMBERS = 'wl-members';
const MEMBER_LIMIT = 100_000;
const silent: LeaseLogger = { info() {}, warn() {}, error() {} };

/**
 * Each key (a carrier registration) owned by exactly one replica, spread so each replica takes at
 * most ceil(keys / live replicas). Live replicas are the holders of the membership semaphore.
 *
 * Ownership ends at the local deadline (shorter than the store TTL), checked on every read and by a
 * timer, not only when the store answers: a replica paused or cut off from Redis stops acting before
 * another replica can be granted the key. Side effects should still be fenced with the grant's
 * token (RedisLeaseStore.fencedAppend), because a pause can fall between the check and the act.
 */
export class OwnershipManager extends EventEmitter<OwnershipEvents> {
  private readonly owned = new Map<string, { grant: LeaseGrant; timer: NodeJS.Timeout }>();
  private member: LeaseGrant | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  private degraded = false;
  private readonly scanMs: number;
  private readonly log: LeaseLogger;

  constructor(private readonly options: OwnershipOptions) {
    super();
    checkName('replicaId', options.replicaId); checkTtl(options.ttlMs);
    this.scanMs = options.scanMs ?? Math.min(1000, Math.floor(options.ttlMs / 3));
    this.log = options.logger ?? silent;
  }

  /** Keys this replica may act on now (local deadline not passed). */
  ownedKeys(): string[] {
    const now = performance.now();
    return [...this.owned].filter(([, o]) => o.grant.localDeadline > now).map(([k]) => k);
  }

  isOwner(key: string): boolean { return this.grant(key) !== undefined; }

  /** The current grant for `key` (its token fences side effects), or undefined when not the owner. */
  grant(key: string): LeaseGrant | undefined {
    const o = this.owned.get(key);
    return o && o.grant.localDeadline > performance.now() ? o.grant : undefined;
  }

  get isDegraded(): boolean { return this.degraded; }

  start(): void {
    this.stopped = false;
    const scan = () => { this.scan().catch((err: unknown) => this.log.error({ err }, 'ownership scan failed unexpectedly')); };
    this.timer = setInterval(scan, this.scanMs);
    scan();
  }

  /** Drain: gives every lease back at once so another replica takes over without waiting for the TTL. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const { store } = this.options;
    const held = [...this.owned];
    for (const [key] of held) this.forget(key, 'stopping');
    await Promise.all(held.map(([, o]) => store.release(o.grant).catch(() => false)));
    if (this.member) await store.semaphoreRelease(this.member).catch(() => false);
    this.member = undefined;
  }

  private hold(key: string, grant: LeaseGrant): void {
    const prev = this.owned.get(key);
    if (prev) clearTimeout(prev.timer);
    const timer = setTimeout(() => this.forget(key, 'local deadline passed before the renewal was confirmed'), Math.max(0, grant.localDeadline - performance.now()));
    timer.unref();
    this.owned.set(key, { grant, timer });
  }

  private forget(key: string, reason: string): void {
    const o = this.owned.get(key);
    if (!o) return;
    clearTimeout(o.timer);
    this.owned.delete(key);
    this.emit('lost', key, reason);
  }

  async scan(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    const { store, replicaId, keys, ttlMs } = this.options;
    try {
      const now = performance.now();
      for (const [key, o] of [...this.owned]) if (o.grant.localDeadline <= now) this.forget(key, 'local deadline passed');
      if (!this.member || !(await store.semaphoreExtend(this.member, ttlMs))) {
        this.member = await store.semaphoreTryAcquire(MEMBERS, MEMBER_LIMIT, replicaId, ttlMs);
      }
      if (this.degraded) {
        this.degraded = false;
        this.log.warn({ replicaId }, 'lease store reachable again: claiming registrations');
        this.emit('recovered');
      }
      // All renewals at once: ioredis writes concurrent commands back to back (one pipeline), so a
      // replica owning thousands of registrations renews them in about one round trip, not thousands.
      const started = performance.now();
      const renewals = [...this.owned];
      const renewed = await Promise.all(renewals.map(([, o]) => store.extend(o.grant, ttlMs)));
      renewals.forEach(([key, o], i) => {
        if (!renewed[i]) this.forget(key, 'renewal denied: another replica owns it or it expired');
        else if (this.owned.get(key) === o) this.hold(key, { ...o.grant, localDeadline: localDeadline(started, ttlMs) });
      });
      if (this.stopped) return;
      const live = Math.max(1, await store.semaphoreCount(MEMBERS));
      const quota = Math.ceil(keys.length / live);
      // Surplus goes back so a replica that joined can take its share.
      for (const [key, o] of [...this.owned].slice(quota)) {
        this.forget(key, 'rebalancing to a new replica');
        await store.release(o.grant);
      }
      // Claim free keys in batches (same pipelining); a batch may win more than the quota needs,
      // and the extra grants go straight back.
      const offset = hash(replicaId) % Math.max(1, keys.length);
      let i = 0;
      while (i < keys.length && this.owned.size < quota && !this.stopped) {
        const batch: string[] = [];
        const want = Math.max(16, quota - this.owned.size);
        for (; i < keys.length && batch.length < want; i++) {
          const key = keys[(offset + i) % keys.length]!;
          if (!this.owned.has(key)) batch.push(key);
        }
        const grants = await Promise.all(batch.map((key) => store.acquire(`own:${key}`, replicaId, ttlMs)));
        for (let j = 0; j < batch.length; j++) {
          const grant = grants[j];
          if (!grant) continue;
          if (this.stopped || this.owned.size >= quota) { await store.release(grant).catch(() => false); continue; }
          this.hold(batch[j]!, grant);
          this.emit('acquired', batch[j]!, grant);
        }
      }
    } catch (err) {
      // Store unreachable: owned keys run out at their local deadlines (timers above), never later.
      if (!this.degraded) {
        this.degraded = true;
        const error = err instanceof Error ? err : new Error(String(err));
        this.log.error({ replicaId, err: error.message, owned: this.owned.size },
          'LEASE STORE UNREACHABLE: registrations stop being refreshed at their local deadlines');
        this.emit('degraded', error);
      }
    } finally {
      this.running = false;
    }
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
