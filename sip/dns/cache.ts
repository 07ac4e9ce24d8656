import { getServers } from 'node:dns';
import type { DnsLookups } from './resolve.js';
import { parseDnsServer, query, type DnsAnswer, type DnsServer, type RecordOf, type RecordType } from './wire.js';

export interface CachingDnsOptions {
  /** "ip", "ip:port" or "[v6]:port". Default: the system's resolvers (node:dns getServers()). */
  servers?: readonly string[];
  /** Per server and attempt. Default 1500 ms. */
  timeoutMs?: number;
  /** How long "no such record" is remembered when the answer carries no SOA. Default 30 s. */
  negativeTtlS?: number;
  /** No answer is kept longer than this, whatever its TTL. Default 1 h. */
  maxTtlS?: number;
  now?: () => number;
}

/**
 * The RFC 3263 look-ups, each answer cached for its own TTL (RFC 1035 §3.2.1; negative answers
 * per RFC 2308). A question already in flight is shared. Failures (no server answered) are not
 * cached: the next request asks again.
 */
export class CachingDns implements DnsLookups {
  readonly #servers: DnsServer[];
  readonly #o: { timeoutMs: number; negativeTtl: number; maxTtl: number; now: () => number };
  readonly #cache = new Map<string, { until: number; records: unknown[] }>();
  readonly #inflight = new Map<string, Promise<unknown[]>>();
  /** Questions that went to a server (cache misses). */
  queries = 0;

  constructor(o: CachingDnsOptions = {}) {
    const list = o.servers && o.servers.length > 0 ? o.servers : getServers();
    this.#servers = list.map(parseDnsServer);
    this.#o = { timeoutMs: o.timeoutMs ?? 1500, negativeTtl: o.negativeTtlS ?? 30, maxTtl: o.maxTtlS ?? 3600, now: o.now ?? Date.now };
  }

  resolveNaptr(name: string): Promise<Array<RecordOf['NAPTR']>> { return this.#lookup(name, 'NAPTR'); }
  resolveSrv(name: string): Promise<Array<RecordOf['SRV']>> { return this.#lookup(name, 'SRV'); }
  resolve4(name: string): Promise<string[]> { return this.#lookup(name, 'A'); }
  resolve6(name: string): Promise<string[]> { return this.#lookup(name, 'AAAA'); }

  async #lookup<T extends RecordType>(name: string, type: T): Promise<Array<RecordOf[T]>> {
    const key = `${type} ${name.toLowerCase().replace(/\.$/, '')}`;
    const hit = this.#cache.get(key);
    if (hit && hit.until > this.#o.now()) return hit.records as Array<RecordOf[T]>;
    if (hit) this.#cache.delete(key);
    const pending = this.#inflight.get(key);
    if (pending) return (await pending) as Array<RecordOf[T]>;
    this.queries++;
    const p = query(name, type, { servers: this.#servers, timeoutMs: this.#o.timeoutMs, negativeTtl: this.#o.negativeTtl })
      .then((a: DnsAnswer<RecordOf[T]>) => {
        const ttl = Math.min(a.ttl, this.#o.maxTtl);
        if (ttl > 0) this.#cache.set(key, { until: this.#o.now() + ttl * 1000, records: a.records });
        return a.records;
      })
      .finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }
}
