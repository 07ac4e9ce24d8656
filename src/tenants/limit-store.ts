import { readFileSync } from 'node:fs';
import type { Redis, Result } from 'ioredis';
import type { TenantLimits } from '../config/schema-tenants.js';

export type RefusalReason = 'concurrency' | 'share' | 'cps';

export type AdmitResult =
  | { ok: true; token: number; calls: number }
  | { ok: false; reason: RefusalReason; upstream?: string; retryAfterMs: number; calls: number };

export interface AdmitRequest {
  /** The caller's tenant first, then every other tenant (their calls count against shared caps). */
  tenants: readonly string[];
  /** Capped upstreams and their concurrencyCap. */
  caps: Readonly<Record<string, number>>;
  /** This replica's configured limits, used for a tenant the store holds no limits for. */
  fallback: Readonly<Record<string, TenantLimits>>;
  ttlMs: number;
  owner: string;
}

export interface HeldCall { tenant: string; token: number }

/**
 * Where per-tenant limits are held for the whole fleet: the limits themselves (so a change made on
 * one replica binds every replica at its next admission), each tenant's calls in progress (slots
 * with a TTL, renewed by their replica's heartbeat, so a dead replica's calls expire) and each
 * tenant's token bucket.
 */
export interface TenantLimitStore {
  admit(r: AdmitRequest): Promise<AdmitResult>;
  release(call: HeldCall, owner: string): Promise<void>;
  /** Renews (and re-adds, if they expired) the slots of calls still in progress. */
  heartbeat(calls: readonly HeldCall[], owner: string, ttlMs: number): Promise<void>;
  /** 'boot' keeps limits already in the store (a run-time change outlives a restart); 'replace' overwrites and removes tenants no longer listed. */
  publish(limits: Readonly<Record<string, TenantLimits>>, mode: 'boot' | 'replace'): Promise<void>;
  /** The limits in force now, by tenant (absent: the replica's config applies). */
  limits(): Promise<Record<string, TenantLimits>>;
  /** Calls in progress now, all replicas together. */
  calls(tenants: readonly string[]): Promise<Record<string, number>>;
  close(): Promise<void>;
}

/** The rule of tenant-admit.lua, on plain numbers: shared by the memory store and the tests' reading of the script. */
export function decide(me: string, counts: Readonly<Record<string, number>>, limitsOf: (t: string) => TenantLimits | undefined, caps: Readonly<Record<string, number>>): { reason: RefusalReason; upstream?: string } | undefined {
  const L = limitsOf(me);
  const mine = counts[me] ?? 0;
  if (L && L.maxConcurrent > 0 && mine >= L.maxConcurrent) return { reason: 'concurrency' };
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  for (const [u, cap] of Object.entries(caps)) {
    const s = L?.shares[u as keyof TenantLimits['shares']];
    const max = s ? Math.floor(s.max * cap + 1e-9) : cap;
    if (mine + 1 > max) return { reason: 'share', upstream: u };
    let reserved = 0;
    for (const [other, n] of Object.entries(counts)) {
      if (other === me) continue;
      const os = limitsOf(other)?.shares[u as keyof TenantLimits['shares']];
      if (os) reserved += Math.max(0, Math.ceil(os.min * cap - 1e-9) - n);
    }
    if (total + 1 + reserved > cap) return { reason: 'share', upstream: u };
  }
  return undefined;
}

export function burstOf(l: TenantLimits): number {
  return l.burst > 0 ? l.burst : Math.max(1, Math.ceil(l.cps));
}

/** One replica (the embedded default, and the fallback while Redis is away): the same rule in process. */
export class MemoryTenantLimitStore implements TenantLimitStore {
  readonly #calls = new Map<string, Map<number, number>>();
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #limits: Record<string, TenantLimits> = {};
  #fence = 0;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  #live(tenant: string, now: number): Map<number, number> {
    let m = this.#calls.get(tenant);
    if (!m) this.#calls.set(tenant, (m = new Map()));
    for (const [token, exp] of m) if (exp <= now) m.delete(token);
    return m;
  }

  async admit(r: AdmitRequest): Promise<AdmitResult> {
    const now = this.#now();
    const me = r.tenants[0]!;
    const counts: Record<string, number> = {};
    for (const t of r.tenants) counts[t] = this.#live(t, now).size;
    const limitsOf = (t: string) => this.#limits[t] ?? r.fallback[t];
    const no = decide(me, counts, limitsOf, r.caps);
    if (no) return { ok: false, ...no, retryAfterMs: 0, calls: counts[me]! };
    const L = limitsOf(me);
    if (L && L.cps > 0) {
      const burst = burstOf(L);
      const b = this.#buckets.get(me) ?? { tokens: burst, at: now };
      b.tokens = Math.min(burst, b.tokens + Math.max(0, now - b.at) * L.cps / 1000);
      b.at = now;
      this.#buckets.set(me, b);
      if (b.tokens < 1) return { ok: false, reason: 'cps', retryAfterMs: Math.ceil((1 - b.tokens) * 1000 / L.cps), calls: counts[me]! };
      b.tokens -= 1;
    }
    const token = ++this.#fence;
    this.#live(me, now).set(token, now + r.ttlMs);
    return { ok: true, token, calls: counts[me]! + 1 };
  }

  async release(call: HeldCall): Promise<void> {
    this.#calls.get(call.tenant)?.delete(call.token);
  }

  async heartbeat(calls: readonly HeldCall[], _owner: string, ttlMs: number): Promise<void> {
    const now = this.#now();
    for (const c of calls) {
      const m = this.#calls.get(c.tenant);
      if (m?.has(c.token)) m.set(c.token, now + ttlMs);
    }
  }

  async publish(limits: Readonly<Record<string, TenantLimits>>, mode: 'boot' | 'replace'): Promise<void> {
    this.#limits = mode === 'replace' ? { ...limits } : { ...limits, ...this.#limits };
  }

  async limits(): Promise<Record<string, TenantLimits>> {
    return { ...this.#limits };
  }

  async calls(tenants: readonly string[]): Promise<Record<string, number>> {
    const now = this.#now();
    return Object.fromEntries(tenants.map((t) => [t, this.#live(t, now).size]));
  }

  async close(): Promise<void> {}
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    wlTenantAdmit(numKeys: number, ...args: Array<string | number>): Result<[number, string, number, number], Context>;
  }
}

/**
 * Redis: one script admits (tenant-admit.lua); the rest are plain commands. Keys live under their
 * own prefix, beside the lease store's, on the same connection.
 */
export class RedisTenantLimitStore implements TenantLimitStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix = 'wl:tenant:') {
    this.#redis = redis;
    this.#prefix = prefix;
    redis.defineCommand('wlTenantAdmit', { lua: readFileSync(new URL('./scripts/tenant-admit.lua', import.meta.url), 'utf8') });
  }

  #k(kind: string, name = ''): string { return `${this.#prefix}${kind}${name ? `:${name}` : ''}`; }

  async admit(r: AdmitRequest): Promise<AdmitResult> {
    const me = r.tenants[0]!;
    const keys = [this.#k('limits'), this.#k('bucket', me), this.#k('fence'), ...r.tenants.map((t) => this.#k('calls', t))];
    const [token, reason, retryAfterMs, calls] = await this.#redis.wlTenantAdmit(
      keys.length, ...keys, JSON.stringify(r.tenants), JSON.stringify(r.caps), JSON.stringify(r.fallback), r.ttlMs, r.owner);
    if (token) return { ok: true, token: Number(token), calls: Number(calls) };
    const [why, upstream] = String(reason).split(':') as [RefusalReason, string | undefined];
    return { ok: false, reason: why, ...(upstream && { upstream }), retryAfterMs: Number(retryAfterMs), calls: Number(calls) };
  }

  async release(call: HeldCall, owner: string): Promise<void> {
    await this.#redis.zrem(this.#k('calls', call.tenant), `${call.token}:${owner}`);
  }

  async heartbeat(calls: readonly HeldCall[], owner: string, ttlMs: number): Promise<void> {
    if (calls.length === 0) return;
    // Redis time, as the script's expiries: a replica's clock never decides another's slots.
    const [s, us] = await this.#redis.time();
    const until = Number(s) * 1000 + Math.floor(Number(us) / 1000) + ttlMs;
    const p = this.#redis.pipeline();
    // Not XX: a call still in progress whose slot expired (its replica stalled past the TTL, or it was
    // admitted locally during an outage) is counted again: it holds its upstreams whatever the store says.
    for (const c of calls) p.zadd(this.#k('calls', c.tenant), until, `${c.token}:${owner}`);
    await p.exec();
  }

  async publish(limits: Readonly<Record<string, TenantLimits>>, mode: 'boot' | 'replace'): Promise<void> {
    const key = this.#k('limits');
    const p = this.#redis.multi();
    if (mode === 'replace') p.del(key);
    for (const [t, l] of Object.entries(limits)) {
      if (mode === 'replace') p.hset(key, t, JSON.stringify(l));
      else p.hsetnx(key, t, JSON.stringify(l));
    }
    await p.exec();
  }

  async limits(): Promise<Record<string, TenantLimits>> {
    const raw = await this.#redis.hgetall(this.#k('limits'));
    return Object.fromEntries(Object.entries(raw).map(([t, v]) => [t, JSON.parse(v) as TenantLimits]));
  }

  async calls(tenants: readonly string[]): Promise<Record<string, number>> {
    const [s, us] = await this.#redis.time();
    const now = Number(s) * 1000 + Math.floor(Number(us) / 1000);
    const p = this.#redis.pipeline();
    for (const t of tenants) p.zcount(this.#k('calls', t), `(${now}`, '+inf');
    const out = (await p.exec()) ?? [];
    return Object.fromEntries(tenants.map((t, i) => [t, Number(out[i]?.[1] ?? 0)]));
  }

  async close(): Promise<void> {}
}
