import { performance } from 'node:perf_hooks';
import { localDeadline, type LeaseGrant, type LeaseStore } from './types.js';
import { checkLimit, checkName, checkTtl } from './validate.js';

interface Held { owner: string; token: number; expiresAt: number }

/** The embedded default for a single replica: same semantics as the Redis store, one process. */
export class MemoryLeaseStore implements LeaseStore {
  private readonly leases = new Map<string, Held>();
  private readonly semaphores = new Map<string, Map<number, Held>>();
  private readonly fence = new Map<string, number>();

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

  async close(): Promise<void> {}
}
