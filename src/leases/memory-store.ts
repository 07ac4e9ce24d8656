import { performance } from 'node:perf_hooks';
import { fairShare, localDeadline, type LeaseGrant, type LeaseStore, type SemaphoreHeartbeat, type SemaphoreTake, type SemaphoreView } from './types.js';
import { checkLimit, checkName, checkTtl } from './validate.js';

interface Held { owner: string; token: number; expiresAt: number }

/** The embedded default for a single replica: same semantics as the Redis store, one process. */
export class MemoryLeaseStore implements LeaseStore {
  private readonly leases = new Map<string, Held>();
  private readonly semaphores = new Map<string, Map<number, Held>>();
  private readonly fence = new Map<string, number>();
  /** Per semaphore: replica → expiry of its membership / of its waiting mark. */
  private readonly replicas = new Map<string, Map<string, number>>();
  private readonly waiting = new Map<string, Map<string, number>>();
  private readonly epoch = `memory-${Math.random().toString(36).slice(2)}`;

  private next(key: string): number {
    const token = (this.fence.get(key) ?? 0) + 1;
    this.fence.set(key, token);
    return token;
  }

  async acquire(key: string, owner: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    checkName('key', key); checkName('owner', owner); checkTtl(ttlMs);
    const now = performance.now();
    const held = this.leases.get(key);
    if (held && held.expiresAt > now) return undefined;
    const token = this.next(key);
    this.leases.set(key, { owner, token, expiresAt: now + ttlMs });
    return { key, owner, token, localDeadline: localDeadline(now, ttlMs) };
  }

  async extend(grant: LeaseGrant, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const now = performance.now();
    const held = this.leases.get(grant.key);
    if (!held || held.token !== grant.token || held.expiresAt <= now) return false;
    held.expiresAt = now + ttlMs;
    return true;
  }

  async release(grant: LeaseGrant): Promise<boolean> {
    const held = this.leases.get(grant.key);
    if (!held || held.token !== grant.token) return false;
    this.leases.delete(grant.key);
    return true;
  }

  private reap(name: string, now: number): Map<number, Held> {
    let slots = this.semaphores.get(name);
    if (!slots) { slots = new Map(); this.semaphores.set(name, slots); }
    for (const [token, held] of slots) if (held.expiresAt <= now) slots.delete(token);
    return slots;
  }

  async semaphoreTryAcquire(name: string, limit: number, owner: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    checkName('name', name); checkName('owner', owner); checkLimit(limit); checkTtl(ttlMs);
    const now = performance.now();
    const slots = this.reap(name, now);
    if (slots.size >= limit) return undefined;
    const token = this.next(`sem:${name}`);
    slots.set(token, { owner, token, expiresAt: now + ttlMs });
    return { key: name, owner, token, localDeadline: localDeadline(now, ttlMs) };
  }

  async semaphoreExtend(grant: LeaseGrant, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    const now = performance.now();
    const held = this.reap(grant.key, now).get(grant.token);
    if (!held) return false;
    held.expiresAt = now + ttlMs;
    return true;
  }

  async semaphoreRelease(grant: LeaseGrant): Promise<boolean> {
    return this.semaphores.get(grant.key)?.delete(grant.token) ?? false;
  }

  async semaphoreCount(name: string): Promise<number> {
    return this.reap(name, performance.now()).size;
  }

  private marks(table: Map<string, Map<string, number>>, name: string, now: number): Map<string, number> {
    let m = table.get(name);
    if (!m) { m = new Map(); table.set(name, m); }
    for (const [owner, expiresAt] of m) if (expiresAt <= now) m.delete(owner);
    return m;
  }

  /** The same rule as sem-take-5.lua, so single-replica and Redis deployments behave alike. */
  async semaphoreTake(name: string, limit: number, owner: string, ttlMs: number, force: boolean): Promise<SemaphoreTake> {
    checkName('name', name); checkName('owner', owner); checkLimit(limit); checkTtl(ttlMs);
    const now = performance.now();
    const slots = this.reap(name, now);
    const replicas = this.marks(this.replicas, name, now);
    const waiting = this.marks(this.waiting, name, now);
    replicas.set(owner, now + ttlMs);
    const othersWaiting = waiting.size - (waiting.has(owner) ? 1 : 0);
    let held = 0;
    for (const h of slots.values()) if (h.owner === owner) held++;
    const share = fairShare(limit, replicas.size);
    const view = (total: number): SemaphoreView => ({ replicas: replicas.size, othersWaiting, total, epoch: this.epoch });
    if (slots.size < limit && (force || othersWaiting === 0 || held < share)) {
      const token = this.next(`sem:${name}`);
      slots.set(token, { owner, token, expiresAt: now + ttlMs });
      if (held + 1 >= share) waiting.delete(owner);
      else if (waiting.has(owner)) waiting.set(owner, now + ttlMs);
      return { grant: { key: name, owner, token, localDeadline: localDeadline(now, ttlMs) }, view: view(slots.size) };
    }
    if (!force && held < share) waiting.set(owner, now + ttlMs);
    return { grant: undefined, view: view(slots.size) };
  }

  async semaphoreHeartbeat(name: string, owner: string, ttlMs: number, tokens: readonly number[]): Promise<SemaphoreHeartbeat> {
    checkName('name', name); checkName('owner', owner); checkTtl(ttlMs);
    const now = performance.now();
    const slots = this.reap(name, now);
    const replicas = this.marks(this.replicas, name, now);
    const waiting = this.marks(this.waiting, name, now);
    replicas.set(owner, now + ttlMs);
    const alive = new Set<number>();
    for (const token of tokens) {
      const held = slots.get(token);
      if (held && held.owner === owner) { held.expiresAt = now + ttlMs; alive.add(token); }
    }
    const othersWaiting = waiting.size - (waiting.has(owner) ? 1 : 0);
    return { alive, view: { replicas: replicas.size, othersWaiting, total: slots.size, epoch: this.epoch } };
  }

  async close(): Promise<void> {}
}
