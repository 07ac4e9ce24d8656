import type { Registry } from 'prom-client';
import type { IncomingCall } from '../../sip/index.js';
import type { WarmlineConfig } from '../config/index.js';
import type { TenantLimits } from '../config/schema-tenants.js';
import type { Admitted, RefusedAdmission, Route } from '../calls/index.js';
import { findRoute, normaliseNumber, uriUser } from '../calls/index.js';
import type { Logger } from '../log.js';
import { TenantAdmission, type Admission } from './admission.js';
import { DEFAULT_TENANT, TenantDirectory, type TenantView } from './directory.js';
import type { RefusalReason, TenantLimitStore } from './limit-store.js';
import { createTenantMetrics, type TenantMetrics } from './metrics.js';
import { sipAnswer } from './sip-answer.js';
import { checkTenantRegions, checkTenants } from './validate.js';
import { TenantStoreError } from './errors.js';

export interface TenantRefusal {
  sipCallId: string; did: string; caller: string; agent: string; tenant: string; reason: RefusalReason; transport: string;
}

export interface TenantsOptions {
  config: WarmlineConfig;
  store: TenantLimitStore;
  replicaId: string;
  registry: Registry;
  log: Logger;
  /** Every refusal (analytics); must not throw. */
  onRefused?: (r: TenantRefusal) => void;
  /** The tenant a browser call's credential names, by Call-ID; undefined for carrier calls. */
  demoTenantOf?: (callId: string) => string | undefined;
}

export interface TenantUsage extends TenantView {
  /** The limits in force now (the store's, which a reload or an admin change on any replica sets). */
  effective: TenantLimits;
  usage: {
    /** Calls in progress, all replicas together (from the store); this replica's beside it. */
    calls: number;
    callsHere: number;
    /** Calls admitted on this replica within the last second. */
    cpsHere: number;
    refusals: Partial<Record<RefusalReason, number>>;
    /** Units of each shared provider cap in use (calls), and the share that is of the cap. */
    shares: Record<string, { inUse: number; cap: number; fraction: number }>;
  };
}

/**
 * Tenants for one gateway: who owns a called number, a trunk or a demo session; admission of each
 * call against its tenant's fleet-wide limits; reloading all of it without a restart (a new
 * configuration that does not validate is refused, and the one in force stays).
 */
export class Tenants {
  readonly admission: TenantAdmission;
  readonly #o: TenantsOptions;
  readonly #metrics: TenantMetrics;
  readonly #refusals = new Map<string, Partial<Record<RefusalReason, number>>>();
  #config: WarmlineConfig;
  #directory: TenantDirectory;

  constructor(o: TenantsOptions) {
    checkTenants(o.config);
    this.#o = o;
    this.#config = o.config;
    this.#directory = new TenantDirectory(o.config.tenants, o.config.routes, o.config.agents);
    this.admission = new TenantAdmission({ store: o.store, directory: () => this.#directory, config: o.config, replicaId: o.replicaId, log: o.log.child({ component: 'tenants' }) });
    this.#metrics = createTenantMetrics(o.registry, () => this.admission);
  }

  get directory(): TenantDirectory {
    return this.#directory;
  }

  /** Publishes the configured limits unless the store already holds some (a run-time change outlives a restart). */
  async start(): Promise<void> {
    await this.#o.store.publish(this.#limits(this.#config), 'boot').catch((err: unknown) => {
      this.#o.log.warn({ err }, 'tenant limits not published at start (the store did not answer): this replica uses its configured limits');
    });
  }

  #limits(config: WarmlineConfig): Record<string, TenantLimits> {
    return Object.fromEntries(config.tenants.map((t) => [t.name, t.limits]));
  }

  /** The route and tenant of an inbound call: the demo credential's tenant for a browser, else the DID's. */
  route(did: string, sip: IncomingCall): Route | undefined {
    const demo = this.#o.demoTenantOf?.(sip.callId);
    if (demo !== undefined) {
      const own = this.#directory.get(demo);
      const r = own ? this.#directory.route(did) : undefined;
      if (r && r.tenant === demo) return r;
      const shared = findRoute(this.#config.routes, this.#config.agents, did);
      return shared && { ...shared, tenant: demo };
    }
    return this.#directory.route(did);
  }

  /** Admission of a routed call (the call manager's hook). */
  async admit(route: Route, sip: IncomingCall): Promise<Admitted | RefusedAdmission> {
    const tenant = route.tenant ?? DEFAULT_TENANT;
    const a = await this.admission.admit(tenant);
    if (a.ok) {
      this.#metrics.admitted.inc({ tenant });
      return a;
    }
    this.#countRefusal(tenant, a.reason);
    const transport = sip.transport.protocol === 'WS' || sip.transport.protocol === 'WSS' ? 'webrtc' : 'sip';
    try {
      this.#o.onRefused?.({ sipCallId: sip.callId, did: normaliseNumber(uriUser(sip.invite.uri)), caller: normaliseNumber(uriUser(sip.invite.from.uri)), agent: route.agent, tenant, reason: a.reason, transport });
    } catch (err) {
      this.#o.log.warn({ err }, 'a tenant refusal was not recorded');
    }
    const answer = sipAnswer(a.reason, tenant, a.retryAfterS);
    return { ok: false, status: answer.status, reason: answer.reason, headers: answer.headers, why: a.why };
  }

  /**
   * Admission of an outbound call placed through `trunk` (a registration id): the trunk's tenant,
   * the same fleet-wide limits as inbound. The caller (the outbound API) answers a refusal its own
   * way (e.g. HTTP 429 with Retry-After for cps); it must release() an admitted call when it ends.
   */
  async admitTrunk(trunk: string): Promise<Admission> {
    const tenant = this.#directory.trunkTenant(trunk);
    const a = await this.admission.admit(tenant);
    if (a.ok) this.#metrics.admitted.inc({ tenant });
    else this.#countRefusal(tenant, a.reason);
    return a;
  }

  #countRefusal(tenant: string, reason: RefusalReason): void {
    this.#metrics.refusals.inc({ tenant, reason });
    const counts = this.#refusals.get(tenant) ?? {};
    counts[reason] = (counts[reason] ?? 0) + 1;
    this.#refusals.set(tenant, counts);
  }

  /**
   * Takes the tenants of a new configuration (SIGHUP, POST /api/admin/tenants/reload). It is checked
   * whole first: a broken one throws (WL_ERR_CONFIG_INVALID, naming the key) and nothing changes; so
   * does a rule naming a region this process does not run (regions are learned at restart).
   * Only the tenants section is taken; other sections still need a restart, and are named when changed.
   */
  async reload(next: WarmlineConfig): Promise<{ tenants: string[]; needsRestart: string[] }> {
    checkTenants(next);
    checkTenantRegions(this.#config, next);
    const needsRestart = (Object.keys(next) as Array<keyof WarmlineConfig>)
      .filter((k) => k !== 'tenants' && JSON.stringify(next[k]) !== JSON.stringify(this.#config[k]));
    const config = { ...this.#config, tenants: next.tenants };
    // The store first: if it cannot take the new limits, the old ones stay in force everywhere.
    try {
      await this.#o.store.publish(this.#limits(config), 'replace');
    } catch (err) {
      throw new TenantStoreError({ operation: 'publish the reloaded limits' }, { cause: err });
    }
    this.#config = config;
    this.#directory = new TenantDirectory(config.tenants, config.routes, config.agents);
    this.#o.log.info({ tenants: config.tenants.map((t) => t.name), needsRestart }, 'tenants reloaded');
    if (needsRestart.length) this.#o.log.warn({ sections: needsRestart }, 'config sections other than tenants changed: they take effect at the next restart');
    return { tenants: config.tenants.map((t) => t.name), needsRestart };
  }

  /** GET /api/tenants: each tenant with its limits and its usage now. */
  async usage(): Promise<TenantUsage[]> {
    const names = this.#directory.names();
    let fleet: Record<string, number> | undefined;
    let effective: Record<string, TenantLimits> = {};
    try {
      // With no tenants, calls are counted on each replica only (admission does not ask the store).
      if (this.#directory.tenants.length) [fleet, effective] = await Promise.all([this.#o.store.calls(names), this.#o.store.limits()]);
    } catch {
      fleet = undefined;
    }
    const here = this.admission.localCalls();
    const cps = this.admission.localCps();
    const caps = this.admission.caps();
    return this.#directory.view().map((t) => {
      const calls = fleet?.[t.name] ?? here[t.name] ?? 0;
      const shares = Object.fromEntries(Object.entries(caps).map(([u, cap]) => [u, { inUse: calls, cap, fraction: cap ? calls / cap : 0 }]));
      return {
        ...t, effective: effective[t.name] ?? t.limits,
        usage: { calls, callsHere: here[t.name] ?? 0, cpsHere: cps[t.name] ?? 0, refusals: { ...this.#refusals.get(t.name) }, shares },
      };
    });
  }

  close(): void {
    this.admission.close();
  }
}
