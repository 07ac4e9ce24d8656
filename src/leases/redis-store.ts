import type { ConnectionOptions } from 'node:tls';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Redis, type Result } from 'ioredis';
import { localDeadline, type LeaseGrant, type LeaseStore, type SemaphoreHeartbeat, type SemaphoreTake, type SemaphoreView } from './types.js';
import { checkLimit, checkName, checkTtl } from './validate.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    wlAcquire(lease: string, fence: string, ttlMs: number, owner: string): Result<number | null, Context>;
    wlExtend(lease: string, value: string, ttlMs: number): Result<number, Context>;
    wlRelease(lease: string, value: string): Result<number, Context>;
    wlFencedSet(lease: string, target: string, value: string, payload: string): Result<number, Context>;
    wlFencedAppend(highest: string, log: string, token: number, entry: string): Result<number, Context>;
    wlSemAcquire(zset: string, fence: string, limit: number, ttlMs: number, owner: string): Result<number | null, Context>;
    wlSemExtend(zset: string, member: string, ttlMs: number): Result<number, Context>;
    wlSemRelease(zset: string, member: string): Result<number, Context>;
    wlSemCount(zset: string): Result<number, Context>;
    wlSemTake(zset: string, fence: string, replicas: string, waiting: string, epoch: string, limit: number, ttlMs: number, owner: string, force: string): Result<[number, number, number, number, string], Context>;
    wlSemHeartbeat(zset: string, replicas: string, waiting: string, epoch: string, ttlMs: number, owner: string, ...tokens: string[]): Result<Array<number | string>, Context>;
  }
}

const SCRIPTS = {
  wlAcquire: 'acquire-2', wlExtend: 'extend-1', wlRelease: 'release-1', wlFencedSet: 'fenced-set-2',
  wlFencedAppend: 'fenced-append-2',
  wlSemAcquire: 'sem-acquire-2', wlSemExtend: 'sem-extend-1', wlSemRelease: 'sem-release-1', wlSemCount: 'sem-count-1',
  wlSemTake: 'sem-take-5', wlSemHeartbeat: 'sem-heartbeat-4',
} as const;

function load(file: string): string {
  return readFileSync(new URL(`./scripts/${file}.lua`, import.meta.url), 'utf8');
}

export interface RedisLeaseStoreOptions {
  url?: string;
  /** Every key this store touches starts with this prefix. */
  prefix?: string;
  /**
   * Bounded so a dead or frozen Redis surfaces as an error instead of a hang. Keep it well under a
   * third of the lease TTL: the gate only keeps slots through an outage it has seen as an error
   * before the local deadline. Default 1000.
   */
  commandTimeoutMs?: number;
  /** AUTH password (Redis `requirepass`), when it is not in the URL; never logged. */
  password?: string;
  /** TLS options (a private CA) for rediss:// URLs. */
  tls?: ConnectionOptions;
}

/** ioredis with one atomic Lua script per operation, defined once (EVALSHA, EVAL after NOSCRIPT). */
export class RedisLeaseStore implements LeaseStore {
  readonly redis: Redis;
  /** The last connection error ioredis reported (for health output). */
  lastError: Error | undefined;
  private readonly prefix: string;

  constructor(options: RedisLeaseStoreOptions = {}) {
    this.prefix = options.prefix ?? 'wl:lease:';
    this.redis = new Redis(options.url ?? 'redis://127.0.0.1:6379', {
      commandTimeout: options.commandTimeoutMs ?? 1000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
      ...(options.password && { password: options.password }),
      ...(options.tls && { tls: options.tls }),
    });
    // Without a listener ioredis prints every failed reconnect; outages are reported once, by the
    // gate and the ownership manager, where the consequence is known.
    this.redis.on('error', (err: Error) => { this.lastError = err; });
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
    const token = await this.redis.wlSemAcquire(this.k('s', name), this.k('sf', name), limit, ttlMs, owner);
    return token == null ? undefined : { key: name, owner, token, localDeadline: localDeadline(started, ttlMs) };
  }

  async semaphoreExtend(grant: LeaseGrant, ttlMs: number): Promise<boolean> {
    checkTtl(ttlMs);
    return (await this.redis.wlSemExtend(this.k('s', grant.key), this.value(grant), ttlMs)) === 1;
  }

  async semaphoreRelease(grant: LeaseGrant): Promise<boolean> {
    return (await this.redis.wlSemRelease(this.k('s', grant.key), this.value(grant))) === 1;
  }

  async semaphoreTake(name: string, limit: number, owner: string, ttlMs: number, force: boolean): Promise<SemaphoreTake> {
    checkName('name', name); checkName('owner', owner); checkLimit(limit); checkTtl(ttlMs);
    const started = performance.now();
    const [token, replicas, othersWaiting, total, epoch] = await this.redis.wlSemTake(
      this.k('s', name), this.k('sf', name), this.k('sr', name), this.k('sw', name), this.k('e', 'epoch'),
      limit, ttlMs, owner, force ? '1' : '0');
    const view: SemaphoreView = { replicas, othersWaiting, total, epoch: String(epoch) };
    return { grant: token ? { key: name, owner, token, localDeadline: localDeadline(started, ttlMs) } : undefined, view };
  }

  async semaphoreHeartbeat(name: string, owner: string, ttlMs: number, tokens: readonly number[]): Promise<SemaphoreHeartbeat> {
    checkName('name', name); checkName('owner', owner); checkTtl(ttlMs);
    const out = await this.redis.wlSemHeartbeat(
      this.k('s', name), this.k('sr', name), this.k('sw', name), this.k('e', 'epoch'), ttlMs, owner, ...tokens.map(String));
    const alive = new Set<number>();
    for (let i = 4; i < out.length; i++) alive.add(Number(out[i]));
    return { alive, view: { replicas: Number(out[0]), othersWaiting: Number(out[1]), total: Number(out[2]), epoch: String(out[3]) } };
  }

  /**
   * Appends `entry` to the list `log` only if no newer token acted on it before: fencing checked by
   * the storage, so it holds even after the lease key expired. `resource` names what is guarded.
   */
  async fencedAppend(grant: LeaseGrant, resource: string, entry: string): Promise<boolean> {
    return (await this.redis.wlFencedAppend(this.k('fh', resource), this.k('log', resource), grant.token, entry)) === 1;
  }

  /** The action log that fencedAppend writes, oldest first. */
  async actionLog(resource: string): Promise<string[]> {
    return this.redis.lrange(this.k('log', resource), 0, -1);
  }

  async semaphoreCount(name: string): Promise<number> {
    return this.redis.wlSemCount(this.k('s', name));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
