import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { localDeadline, type LeaseGrant, type LeaseStore } from './types.js';

export interface OwnershipOptions {
  store: LeaseStore;
  replicaId: string;
  keys: readonly string[];
  ttlMs: number;
  /** How often leases are renewed and free keys are claimed; default ttl/3. */
  scanMs?: number;
}

const MEMBERS = 'wl-members';
const MEMBER_LIMIT = 100_000;

/**
 * Each key (a carrier registration) owned by exactly one replica, spread so each replica takes at
 * most ceil(keys / live replicas). Live replicas are the holders of the membership semaphore.
 * Events: 'acquired'(key, grant), 'lost'(key).
 */
export class OwnershipManager extends EventEmitter {
  private readonly owned = new Map<string, LeaseGrant>();
  private member: LeaseGrant | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly scanMs: number;

  constructor(private readonly options: OwnershipOptions) {
    super();
    this.scanMs = options.scanMs ?? Math.floor(options.ttlMs / 3);
  }

  ownedKeys(): string[] { return [...this.owned.keys()]; }

  start(): void {
    this.timer = setInterval(() => { void this.scan(); }, this.scanMs);
    void this.scan();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    const { store } = this.options;
    for (const [key, grant] of this.owned) { this.owned.delete(key); await store.release(grant).catch(() => false); }
    if (this.member) await store.semaphoreRelease(this.member).catch(() => false);
  }

  private lose(key: string): void {
    if (this.owned.delete(key)) this.emit('lost', key);
  }

  async scan(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const { store, replicaId, keys, ttlMs } = this.options;
    try {
      const now = performance.now();
      for (const [key, grant] of this.owned) if (grant.localDeadline <= now) this.lose(key);
      if (!this.member || !(await store.semaphoreExtend(this.member, ttlMs))) {
        this.member = await store.semaphoreTryAcquire(MEMBERS, MEMBER_LIMIT, replicaId, ttlMs);
      }
      for (const [key, grant] of [...this.owned]) {
        const started = performance.now();
        if (await store.extend(grant, ttlMs)) this.owned.set(key, { ...grant, localDeadline: localDeadline(started, ttlMs) });
        else this.lose(key);
      }
      const live = Math.max(1, await store.semaphoreCount(MEMBERS));
      const quota = Math.ceil(keys.length / live);
      // Surplus goes back so a replica that joined can take its share.
      for (const [key, grant] of [...this.owned].slice(quota)) {
        this.owned.delete(key);
        this.emit('lost', key);
        await store.release(grant);
      }
      const offset = hash(replicaId) % Math.max(1, keys.length);
      for (let i = 0; i < keys.length && this.owned.size < quota; i++) {
        const key = keys[(offset + i) % keys.length]!;
        if (this.owned.has(key)) continue;
        const grant = await store.acquire(`own:${key}`, replicaId, ttlMs);
        if (grant) { this.owned.set(key, grant); this.emit('acquired', key, grant); }
      }
    } catch {
      // Store unreachable: owned keys run out at their local deadlines above.
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
