import type { UpstreamName, WarmlineConfig } from '../config/index.js';
import type { TenantLimits } from '../config/schema-tenants.js';
import type { Logger } from '../log.js';
import { MemoryTenantLimitStore, type AdmitResult, type HeldCall, type RefusalReason, type TenantLimitStore } from './limit-store.js';
import type { TenantDirectory } from './directory.js';

export type Admission =
  | { ok: true; tenant: string; release(): void }
  | { ok: false; tenant: string; reason: RefusalReason; upstream?: string; retryAfterS: number; why: string };

export interface TenantAdmissionOptions {
  store: TenantLimitStore;
  directory(): TenantDirectory;
  config: WarmlineConfig;
  replicaId: string;
  log: Logger;
}

/** Users one connection of each upstream carries (calls count in these units against a cap). */
function perConnection(config: WarmlineConfig, u: UpstreamName): number {
  if (u === 'tts') return config.upstreams.tts.multiContext ? config.upstreams.tts.contextsPerSocket : 1;
  if (u === 'llm') return config.upstreams.llm.streamsPerSession;
  return 1;
}

/**
 * Admits each call of a tenant against its fleet-wide limits before anything upstream is touched.
 * Holds the slot of every admitted call until it ends (renewed every ttl/3 in one round trip, so a
 * replica that dies gives its calls' slots back at the TTL). When the store cannot be reached the
 * replica admits on its own against localShare of each limit, with a loud warning, as the provider
 * caps do: an outage degrades limits, it never refuses every call.
 */
export class TenantAdmission {
  readonly #o: TenantAdmissionOptions;
  readonly #held = new Map<string, HeldCall & { local: boolean }>();
  readonly #local = new MemoryTenantLimitStore();
  readonly #heartbeat: NodeJS.Timeout;
  readonly #ttlMs: number;
  #degraded = false;
  #seq = 0;
  /** tenant → admission times of the last second (this replica), for the cps shown in /api/tenants. */
  readonly #recent = new Map<string, number[]>();

  constructor(o: TenantAdmissionOptions) {
    this.#o = o;
    this.#ttlMs = o.config.leases.ttlMs;
    this.#heartbeat = setInterval(() => this.#beat(), Math.max(100, Math.floor(this.#ttlMs / 3)));
    this.#heartbeat.unref();
  }

  get degraded(): boolean {
    return this.#degraded;
  }

  /** Capped upstreams some tenant asks a share of, in calls: only those are checked, so a fleet without shares behaves as before. */
  caps(): Record<string, number> {
    const out: Record<string, number> = {};
    const shared = new Set(this.#o.directory().tenants.flatMap((t) => Object.keys(t.limits.shares)));
    for (const u of ['asr', 'tts', 'llm', 'crm'] as const) {
      const cap = this.#o.config.upstreams[u].concurrencyCap;
      if (cap > 0 && shared.has(u)) out[u] = cap * perConnection(this.#o.config, u);
    }
    return out;
  }

  fallbackLimits(scale = 1): Record<string, TenantLimits> {
    const out: Record<string, TenantLimits> = {};
    for (const t of this.#o.directory().tenants) {
      const l = t.limits;
      out[t.name] = scale === 1 ? l : { ...l, maxConcurrent: l.maxConcurrent && Math.max(1, Math.floor(l.maxConcurrent * scale)), cps: l.cps && l.cps * scale };
    }
    return out;
  }

  async admit(tenant: string): Promise<Admission> {
    const dir = this.#o.directory();
    const tenants = [tenant, ...dir.names().filter((n) => n !== tenant)];
    const caps = this.caps();
    const request = { tenants, caps, fallback: this.fallbackLimits(), ttlMs: this.#ttlMs, owner: this.#o.replicaId };
    let r: AdmitResult;
    let local = false;
    // No tenants configured: nothing to enforce, so no round trip to the store in a call's setup;
    // the call is counted here only (for /api/tenants and the metrics).
    if (dir.tenants.length === 0) return this.#admitted(tenant, await this.#local.admit(request), true);
    try {
      r = await this.#o.store.admit(request);
      if (this.#degraded) {
        this.#degraded = false;
        // Calls admitted locally during the outage join the fleet's count at the next heartbeat.
        for (const h of this.#held.values()) {
          if (!h.local) continue;
          this.#local.release(h).catch(() => undefined);
          h.local = false;
        }
        this.#o.log.warn({}, 'tenant limit store answers again: limits are fleet-wide again');
      }
    } catch (err) {
      if (!this.#degraded) this.#o.log.error({ err, localShare: this.#o.config.leases.localShare }, 'TENANT LIMIT STORE UNREACHABLE: tenant limits are enforced per replica on their local share');
      this.#degraded = true;
      local = true;
      const scale = this.#o.config.leases.localShare;
      const localCaps = Object.fromEntries(Object.entries(caps).map(([u, c]) => [u, Math.max(1, Math.floor(c * scale))]));
      r = await this.#local.admit({ ...request, caps: localCaps, fallback: this.fallbackLimits(scale) });
    }
    return this.#admitted(tenant, r, local);
  }

  #admitted(tenant: string, r: AdmitResult, local: boolean): Admission {
    const dir = this.#o.directory();
    if (!r.ok) {
      const retryAfterS = r.reason === 'cps' ? Math.max(1, Math.ceil(r.retryAfterMs / 1000)) : 0;
      const l = dir.limits(tenant);
      const why = r.reason === 'cps' ? `tenant ${tenant} over ${l.cps} calls per second`
        : r.reason === 'concurrency' ? `tenant ${tenant} at ${l.maxConcurrent} concurrent calls`
          : `tenant ${tenant} at its share of the ${r.upstream ?? ''} cap`;
      return { ok: false, tenant, reason: r.reason, ...(r.upstream && { upstream: r.upstream }), retryAfterS, why };
    }
    const id = String(++this.#seq);
    const held: HeldCall & { local: boolean } = { tenant, token: r.token, local };
    this.#held.set(id, held);
    const now = Date.now();
    const times = (this.#recent.get(tenant) ?? []).filter((t) => now - t < 1000);
    times.push(now);
    this.#recent.set(tenant, times);
    let released = false;
    return {
      ok: true, tenant,
      release: () => {
        if (released) return;
        released = true;
        this.#held.delete(id);
        const store = held.local ? this.#local : this.#o.store;
        // A release that cannot reach the store is not lost: the slot expires at its TTL.
        store.release(held, this.#o.replicaId).catch((err: unknown) => this.#o.log.warn({ err, tenant }, 'tenant slot not released (it expires at the lease TTL)'));
      },
    };
  }

  /** Calls this replica holds now, by tenant. */
  localCalls(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const h of this.#held.values()) out[h.tenant] = (out[h.tenant] ?? 0) + 1;
    return out;
  }

  /** Calls admitted on this replica within the last second, by tenant. */
  localCps(): Record<string, number> {
    const now = Date.now();
    const out: Record<string, number> = {};
    for (const [t, times] of this.#recent) out[t] = times.filter((x) => now - x < 1000).length;
    return out;
  }

  #beat(): void {
    const global: HeldCall[] = [];
    const local: HeldCall[] = [];
    for (const h of this.#held.values()) (h.local ? local : global).push(h);
    this.#local.heartbeat(local, this.#o.replicaId, this.#ttlMs).catch(() => undefined);
    this.#o.store.heartbeat(global, this.#o.replicaId, this.#ttlMs).catch((err: unknown) => {
      this.#o.log.warn({ err, calls: global.length }, 'tenant call slots not renewed (the store did not answer)');
    });
  }

  close(): void {
    clearInterval(this.#heartbeat);
  }
}
