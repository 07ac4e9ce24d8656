import type { AgentConfig, RouteConfig, RoutingConfig, UpstreamName } from '../config/index.js';
import type { TenantConfig, TenantLimits } from '../config/schema-tenants.js';
import { findRoute, type Route } from '../calls/route.js';

/** The tenant of every call no configured tenant owns: with no tenants, all calls are its. */
export const DEFAULT_TENANT = 'default';

export interface TenantView {
  name: string;
  dids: string[];
  agents: string[];
  demo: boolean;
  trunks: string[];
  /** Which upstreams the tenant brings its own provider key for. */
  ownKeys: UpstreamName[];
  limits: TenantLimits;
  /** How its calls pick their region (a DID's own rule wins); absent: the gateway's (`routing`). */
  routing?: RoutingConfig;
}

const UNLIMITED: TenantLimits = { maxConcurrent: 0, cps: 0, burst: 0, shares: {} };

/**
 * Who owns what, for one version of the configuration: DIDs, demo access and trunks map to a
 * tenant. Immutable; a reload builds a new one and swaps it in whole, so a call is attributed by
 * one version, never half of each.
 */
export class TenantDirectory {
  readonly tenants: readonly TenantConfig[];
  readonly #routes: readonly RouteConfig[];
  readonly #agents: Readonly<Record<string, AgentConfig>>;
  readonly #byName = new Map<string, TenantConfig>();
  readonly #byTrunk = new Map<string, string>();

  constructor(tenants: readonly TenantConfig[], routes: readonly RouteConfig[], agents: Readonly<Record<string, AgentConfig>>) {
    this.tenants = tenants;
    this.#routes = routes;
    this.#agents = agents;
    for (const t of tenants) {
      this.#byName.set(t.name, t);
      for (const k of t.trunks) this.#byTrunk.set(k, t.name);
    }
  }

  /** Every tenant name, the default one last. */
  names(): string[] {
    return [...this.tenants.map((t) => t.name), DEFAULT_TENANT];
  }

  has(name: string): boolean {
    return name === DEFAULT_TENANT || this.#byName.has(name);
  }

  get(name: string): TenantConfig | undefined {
    return this.#byName.get(name);
  }

  limits(name: string): TenantLimits {
    return this.#byName.get(name)?.limits ?? UNLIMITED;
  }

  /**
   * The route of an inbound call: a tenant's DIDs first (its own agents, then the shared ones),
   * then the top-level routes, whose calls are the default tenant's.
   */
  route(did: string): Route | undefined {
    for (const t of this.tenants) {
      const own: Record<string, AgentConfig> = { ...this.#agents };
      for (const [name, a] of Object.entries(t.agents)) own[name] = { greeting: a.greeting, systemPrompt: a.systemPrompt, voiceId: a.voiceId, language: a.language, tools: a.tools };
      const r = findRoute(t.dids, own, did);
      if (r) {
        const routing = r.routing ?? t.routing;
        return { ...r, tenant: t.name, ...(t.agents[r.agent]?.asrModel && { asrModel: t.agents[r.agent]!.asrModel }), ...(routing && { routing }) };
      }
    }
    const r = findRoute(this.#routes, this.#agents, did);
    return r && { ...r, tenant: DEFAULT_TENANT };
  }

  /** The tenant an outbound trunk (a registration id) belongs to. */
  trunkTenant(trunk: string): string {
    return this.#byTrunk.get(trunk) ?? DEFAULT_TENANT;
  }

  /**
   * The tenant a browser demo session is for: the one asked for when it has demo access, else the
   * first tenant with demo access; with none, the default tenant (the demo as it was).
   */
  demoTenant(asked: string | undefined): { ok: true; tenant: string } | { ok: false; reason: string } {
    const demo = this.tenants.filter((t) => t.demo);
    if (asked) {
      if (demo.some((t) => t.name === asked)) return { ok: true, tenant: asked };
      return { ok: false, reason: `no tenant "${asked}" with demo access` };
    }
    return { ok: true, tenant: demo[0]?.name ?? DEFAULT_TENANT };
  }

  view(): TenantView[] {
    const own = (t: TenantConfig) => (['asr', 'tts', 'llm'] as const).filter((u) => t.keys[u] !== undefined);
    return [
      ...this.tenants.map((t) => ({ name: t.name, dids: t.dids.map((d) => d.did), agents: Object.keys(t.agents), demo: t.demo, trunks: [...t.trunks], ownKeys: own(t), limits: t.limits, ...(t.routing && { routing: t.routing }) })),
      { name: DEFAULT_TENANT, dids: this.#routes.map((r) => r.did), agents: Object.keys(this.#agents), demo: !this.tenants.some((t) => t.demo), trunks: [], ownKeys: [], limits: UNLIMITED },
    ];
  }
}
