import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Redis, type Result } from 'ioredis';
import { localDeadline, type LeaseGrant, type LeaseStore } from './types.js';
import { checkLimit, checkName, checkTtl } from './validate.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    wlAcquire(lease: string, fence: string, ttlMs: number, owner: string): Result<number | null, Context>;
    wlExtend(lease: string, value: string, ttlMs: number): Result<number, Context>;
    wlRelease(lease: string, value: string): Result<number, Context>;
    wlFencedSet(lease: string, target: string, value: string, payload: string): Result<number, Context>;
    wlSemAcquire(zset: string, fence: string, limit: number, ttlMs: number): Result<number | null, Context>;
    wlSemExtend(zset: string, token: number, ttlMs: number): Result<number, Context>;
    wlSemRelease(zset: string, token: number): Result<number, Context>;
    wlSemCount(zset: string): Result<number, Context>;
  }
}

const SCRIPTS = {
  wlAcquire: 'acquire-2', wlExtend: 'extend-1', wlRelease: 'release-1', wlFencedSet: 'fenced-set-2',
  wlSemAcquire: 'sem-acquire-2', wlSemExtend: 'sem-extend-1', wlSemRelease: 'sem-release-1', wlSemCount: 'sem-count-1',
} as const;

function load(file: string): string {
  return readFileSync(new URL(`./scripts/${file}.lua`, import.meta.url), 'utf8');
}

export interface RedisLeaseStoreOptions {
  url?: string;
  /** Every key this store touches starts with this prefix. */
  prefix?: string;
  /** Bounded so a dead Redis surfaces as an error instead of a hang. */
  commandTimeoutMs?: number;
}

/** ioredis with one atomic Lua script per operation, defined once (EVALSHA, EVAL after NOSCRIPT). */
export class RedisLeaseStore implements LeaseStore {
  readonly redis: Redis;
  private readonly prefix: string;

  constructor(options: RedisLeaseStoreOptions = {}) {
    this.prefix = options.prefix ?? 'wl:lease:';
    this.redis = new Redis(options.url ?? 'redis://127.0.0.1:6379', {
      commandTimeout: options.commandTimeoutMs ?? 1000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
    });
    for (const [name, file] of Object.entries(SCRIPTS)) {
      this.redis.defineCommand(name, { numberOfKeys: Number(file.split('-').pop()), lua: load(file) });
    }
  }

  /** Resolves when the connection is ready (the offline queue is off, so callers wait for this). */
  async ready(): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      this.redis.once('ready', resolve);
      this.redis.once('end', () => reject(new Error('redis connection ended')));
    });
  }

  private k(kind: string, name: string): string { return `${this.prefix}${kind}:${name}`; }
  private value(grant: LeaseGrant): string { return `${grant.token}:${grant.owner}`; }

  async acquire(key: string, owner: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    checkName('key', key); checkName('owner', owner); checkTtl(ttlMs);
    const started = performance.now();
    const token = await this.redis.wlAcquire(this.k('l', key), this.k('f', key), ttlMs, owner);
    return token == null ? undefined : { key, owner, token, localDeadline: localDeadline(started, ttlMs) };
  }

  async extend(grant: LeaseGrant, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return (await this.redis.wlExtend(this.k('l', grant.key), this.value(grant), ttlMs)) === 1;
  }

  async release(grant: LeaseGrant): Promise<boolean> {
    return (await this.redis.wlRelease(this.k('l', grant.key), this.value(grant))) === 1;
  }

  /** Sets `target` only while the grant is still the current holder: the fenced side effect. */
  async fencedSet(grant: LeaseGrant, target: string, payload: string): Promise<boolean> {
    return (await this.redis.wlFencedSet(this.k('l', grant.key), target, this.value(grant), payload)) === 1;
  }

  async semaphoreTryAcquire(name: string, limit: number, owner: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    checkName('name', name); checkName('owner', owner); checkLimit(limit); checkTtl(ttlMs);
    const started = performance.now();
    const token = await this.redis.wlSemAcquire(this.k('s', name), this.k('sf', name), limit, ttlMs);
    return token == null ? undefined : { key: name, owner, token, localDeadline: localDeadline(started, ttlMs) };
  }

  async semaphoreExtend(grant: LeaseGrant, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return (await this.redis.wlSemExtend(this.k('s', grant.key), grant.token, ttlMs)) === 1;
  }

  async semaphoreRelease(grant: LeaseGrant): Promise<boolean> {
    return (await this.redis.wlSemRelease(this.k('s', grant.key), grant.token)) === 1;
  }

  async semaphoreCount(name: string): Promise<number> {
    return this.redis.wlSemCount(this.k('s', name));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
