import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { UpstreamName, WarmlineConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { ConnectionFactory, PoolBase, PooledConnection, PoolSet } from '../pools/index.js';
import type { AgentUpstreams } from '../agent/index.js';
import type { RefusedAdmission, Route } from '../calls/index.js';
import { normaliseNumber, uriUser } from '../calls/index.js';
import type { IncomingCall } from '../../sip/index.js';
import type { RoutingConfig } from '../config/index.js';
import type { RefusedCall } from '../analytics/index.js';
import type { ConnectionParams } from '../tenants/index.js';
import { RegionRouter, type RegionChoice, type RegionHealth } from '../regions/index.js';
import { createUpstreamFactories, type UpstreamConnections, type UpstreamFactories } from './factories.js';
import type { RegionEndpoints } from './upstream-endpoints.js';
import { ConfigInvalidError } from '../config/errors.js';
import { PoolClosedError } from '../pools/index.js';

type Pools = { [K in UpstreamName]: PoolSet<UpstreamConnections[K]> };
const NAMES: readonly UpstreamName[] = ['asr', 'tts', 'llm', 'crm'];

/** A region's factories: each regional upstream's key carries `|region:<name>`, so its pool is the region's own. */
function regionFactories(base: UpstreamFactories, r: RegionEndpoints): UpstreamFactories {
  if (!r.name) return base;
  const tag = <C extends PooledConnection>(u: UpstreamName, f: ConnectionFactory<C>): ConnectionFactory<C> =>
    (r.regional.has(u) ? { upstream: f.upstream, key: `${f.key}|region:${r.name}`, open: (signal) => f.open(signal) } : f);
  return {
    asr: (language, model, account) => tag('asr', base.asr(language, model, account)),
    tts: (voiceId, account) => tag('tts', base.tts(voiceId, account)),
    llm: (account) => tag('llm', base.llm(account)),
    crm: () => tag('crm', base.crm()),
  };
}

/** Every rule in the configuration: the routes', the tenants' and their DIDs' (the top-level one the router knows). */
export function routingRules(config: WarmlineConfig, tenants: readonly WarmlineConfig['tenants'][number][]): Array<RoutingConfig | undefined> {
  return [...config.routes.map((r) => r.routing), ...tenants.flatMap((t) => [t.routing, ...t.dids.map((d) => d.routing)])];
}

/** A promoted pool goes back to its standby floor once the region it stood in for was alive this long. */
const HOLD_DOWN_MS = 3000;

const dead = (p: PoolBase<PooledConnection>): string | undefined => {
  const s = p.stats();
  // No connection, and the pool knows it cannot have one now: its last opens failed (whatever its
  // floor: a pool zeroed for want of calls keeps saying so), or its floor is unmet (degraded) or its
  // key rejected (failed).
  const down = s.size === 0 && (s.failuresInARow > 0 || (s.min > 0 && (s.state === 'degraded' || s.state === 'failed')));
  return down ? `${s.upstream} ${s.size}/${s.min} warm${s.lastError ? ` (${s.lastError})` : ''}` : undefined;
};

export interface RegionsView {
  region: string;
  home: boolean;
  alive: boolean;
  why?: string;
  rttMs?: number;
  endpoints: Record<UpstreamName, string>;
  regional: UpstreamName[];
  calls: { near: number; failover: number; refused: number };
}

/**
 * The gateway's regions: one set of factories per region, the warm floor of each region's pools
 * (the replica's own region the full pools.<u>.min, a standby one `routing.standbyFloor` of it), the
 * choice of each call's region with its metrics, and a standby pool's floor raised to the full one
 * while calls fail over to it. With no regions configured, one unnamed region: every key and floor
 * as before, and choose() is never asked.
 */
export class GatewayRegions {
  readonly router: RegionRouter | undefined;
  readonly #config: WarmlineConfig;
  readonly #log: Logger;
  readonly #pools: Pools;
  readonly #regions = new Map<string, { endpoints: RegionEndpoints; factories: UpstreamFactories }>();
  /** Factory key → the floor its pool starts with (read when the pool is created). */
  readonly #floors = new Map<string, number>();
  /** Key → its region, for the regional pools. */
  readonly #regionOfKey = new Map<string, string>();
  /**
   * Standby pools serving failed-over calls at the full floor → the floor they go back to and the
   * regions whose calls they took: they stay up until every one of those can serve again.
   */
  readonly #promoted = new Map<string, { upstream: UpstreamName; floor: number; from: Set<string> }>();
  /** Region → since when the sweep has seen it alive without a break (the hold-down). */
  readonly #aliveSince = new Map<string, number>();
  readonly #counts = new Map<string, RegionsView['calls']>();
  readonly #calls: Counter<'region' | 'rule' | 'outcome'>;
  readonly #sweeper: NodeJS.Timeout | undefined;

  constructor(config: WarmlineConfig, endpoints: readonly RegionEndpoints[], pools: Pools, registry: Registry, log: Logger) {
    this.#config = config;
    this.#log = log.child({ component: 'regions' });
    this.#pools = pools;
    for (const r of endpoints) this.#regions.set(r.name, { endpoints: r, factories: regionFactories(createUpstreamFactories(config, r.endpoints), r) });
    this.router = config.regions.length ? new RegionRouter({ home: config.region, regions: config.regions.map((r) => r.name), fallback: config.routing, rttMs: (n) => this.rttMs(n) }) : undefined;
    this.#calls = new Counter({ name: 'warmline_region_calls_total', help: 'Calls by the region chosen and how: near (the rule\'s first choice), failover (a later one, the first was dead), refused (none could serve)', labelNames: ['region', 'rule', 'outcome'], registers: [registry] });
    if (!this.router) return;
    const regions = [...this.#regions.keys()];
    const self = this;
    new Gauge({
      name: 'warmline_region_alive', help: '1 while none of the region\'s own pools is dead', labelNames: ['region'], registers: [registry],
      collect() { for (const n of regions) this.set({ region: n }, self.regionHealth(n).alive ? 1 : 0); },
    });
    new Gauge({
      name: 'warmline_region_rtt_seconds', help: 'Smoothed keepalive round trip to the region\'s own upstreams (the slowest of them)', labelNames: ['region'], registers: [registry],
      collect() { for (const n of regions) { const ms = self.rttMs(n); if (ms !== undefined) this.set({ region: n }, ms / 1000); } },
    });
    this.#sweeper = setInterval(() => this.sweep(), 1000);
    this.#sweeper.unref();
  }

  /** The factories of one region ('' with no regions); the home region's when none is named. */
  factories(region = this.#config.region): UpstreamFactories {
    return this.#region(region).factories;
  }

  #region(region: string): { endpoints: RegionEndpoints; factories: UpstreamFactories } {
    const r = this.#regions.get(region);
    if (r) return r;
    throw new ConfigInvalidError({ issues: [{ key: 'regions', value: region, expected: `one of the regions this process runs (${[...this.#regions.keys()].join(', ')}): a regions change needs a restart`, source: 'the running process' }] });
  }

  /** A region named by a rule that this process was not started with: it has no pools, so it cannot serve. */
  #unknown(region: string): RegionHealth | undefined {
    return this.#regions.has(region) ? undefined : { alive: false, why: `region ${region} is not one this process runs (a regions change needs a restart)` };
  }

  #keys(p: ConnectionParams, region: string): Record<UpstreamName, ConnectionFactory<PooledConnection>> {
    const f = this.factories(region);
    return {
      asr: f.asr(p.asr.language, p.asr.model, p.asr.account), tts: f.tts(p.tts.voiceId, p.tts.account), llm: f.llm(p.llm.account), crm: f.crm(),
    } as Record<UpstreamName, ConnectionFactory<PooledConnection>>;
  }

  /** The pools of one call's keys in one region (created and warmed if new): what its agent leases from. */
  upstreams(p: ConnectionParams, region = this.#config.region): AgentUpstreams {
    const k = this.#keys(p, region);
    const r = this.#region(region).endpoints;
    for (const u of NAMES) {
      if (this.#floors.has(k[u].key)) continue;
      const full = this.#config.pools[u].min;
      const standby = r.regional.has(u) && region !== this.#config.region;
      this.#floors.set(k[u].key, standby ? Math.ceil(full * this.#config.routing.standbyFloor) : full);
      if (r.regional.has(u)) this.#regionOfKey.set(k[u].key, region);
    }
    const p2 = this.#pools;
    return {
      asr: p2.asr.get(k.asr as ConnectionFactory<UpstreamConnections['asr']>), tts: p2.tts.get(k.tts as ConnectionFactory<UpstreamConnections['tts']>),
      llm: p2.llm.get(k.llm as ConnectionFactory<UpstreamConnections['llm']>), crm: p2.crm.get(k.crm as ConnectionFactory<UpstreamConnections['crm']>),
    };
  }

  /** The floor a new pool for this key starts with (the creation hook asks); undefined: pools.<u>.min. */
  floorFor(key: string): number | undefined {
    return this.#floors.get(key);
  }

  /** The region of a regional pool; undefined for a pool shared by every region (or with no regions). */
  regionOf(pool: PoolBase<PooledConnection>): string | undefined {
    return this.#regionOfKey.get(pool.factory.key);
  }

  /** A pool's name for the terminal: `asr@eu-west` for a region's own pool, the upstream alone otherwise. */
  label(pool: PoolBase<PooledConnection>): string {
    const region = this.regionOf(pool);
    return region ? `${pool.name}@${region}` : pool.name;
  }

  /** Warms every key in every region some rule may route to (boot, and after a tenants reload). */
  warm(params: readonly ConnectionParams[], rules: Parameters<RegionRouter['reachable']>[0]): void {
    const regions = this.router ? [...this.router.reachable(rules)].filter((n) => this.#regions.has(n)) : [''];
    for (const region of regions) for (const p of params) this.upstreams(p, region);
  }

  /** One call's health in one region: its own keys' pools (one not made yet is not dead: it warms on use). */
  health(region: string, p: ConnectionParams): RegionHealth {
    const unknown = this.#unknown(region);
    if (unknown) return unknown;
    const k = this.#keys(p, region);
    for (const u of NAMES) {
      const pool = this.#pools[u].find(k[u].key) as PoolBase<PooledConnection> | undefined;
      const why = pool && dead(pool);
      if (why) return { alive: false, why };
    }
    return { alive: true };
  }

  /** A region as a whole: none of its own pools dead (the metric, /api/regions, readiness). */
  regionHealth(region: string): RegionHealth {
    const unknown = this.#unknown(region);
    if (unknown) return unknown;
    for (const u of NAMES) {
      for (const pool of this.#pools[u].pools() as PoolBase<PooledConnection>[]) {
        if (this.#regionOfKey.get(pool.factory.key) !== region) continue;
        const why = dead(pool);
        if (why) return { alive: false, why };
      }
    }
    return { alive: true };
  }

  /** The region a call's keys' pools that answered keepalives are at: the slowest of them. */
  rttMs(region: string): number | undefined {
    let worst: number | undefined;
    for (const u of NAMES) {
      for (const pool of this.#pools[u].pools() as PoolBase<PooledConnection>[]) {
        if (this.#regionOfKey.get(pool.factory.key) !== region) continue;
        const ms = pool.stats().keepaliveRttMs;
        if (ms !== undefined && u !== 'tts') worst = Math.max(worst ?? 0, ms);
      }
    }
    return worst;
  }

  /**
   * Decides a call's region (no regions: the one unnamed region, nothing counted). A failover
   * raises the chosen region's own pools for the call's keys to the full floor, so the region now
   * serving holds what the dead one held; the sweep lowers them again once the region the call
   * failed over from has been alive for HOLD_DOWN_MS (not the replica's own: a failover rule may
   * not name it, and lowering them while the calls still come would open and close paid sockets).
   */
  choose(route: Route, p: ConnectionParams): RegionChoice {
    if (!this.router) return { ok: true, region: '', rule: 'nearest' };
    const c = this.router.choose(route.routing, (region) => this.health(region, p));
    const region = c.ok ? c.region : c.tried[0] ?? '';
    const outcome = !c.ok ? 'refused' : c.failedOverFrom ? 'failover' : 'near';
    this.#calls.inc({ region, rule: c.rule, outcome });
    const counts = this.#counts.get(region) ?? { near: 0, failover: 0, refused: 0 };
    counts[outcome]++;
    this.#counts.set(region, counts);
    if (c.ok && c.failedOverFrom) {
      this.#log.warn({ from: c.failedOverFrom, to: c.region, tenant: route.tenant, agent: route.agent }, 'call failed over to another region');
      const k = this.#keys(p, c.region);
      for (const u of NAMES) {
        const key = k[u].key;
        const promoted = this.#promoted.get(key);
        if (promoted) {
          promoted.from.add(c.failedOverFrom);
          continue;
        }
        // Only the region's own pools: a shared one already serves every region at its own floor.
        const floor = this.#floors.get(key);
        const full = this.#config.pools[u].min;
        if (!this.#regionOfKey.has(key) || floor === undefined || floor >= full) continue;
        this.#promoted.set(key, { upstream: u, floor, from: new Set([c.failedOverFrom]) });
        this.#pools[u].setFloor(key, full);
      }
    }
    return c;
  }

  /** Records the choice on the route: the call's upstreams come from that region, and its row says so. */
  place(route: Route, c: RegionChoice): void {
    if (!this.router) return;
    route.region = c.ok ? c.region : c.tried[0] ?? this.#config.region;
    if (c.ok && c.failedOverFrom) route.failedOverFrom = c.failedOverFrom;
  }

  /**
   * Admission by region, before the tenant's: undefined when the call's region can serve (recorded
   * on the route), else a refusal. 503 because reaching a region is this replica's view, not the
   * fleet's: another replica (another network path) may reach it, and 503 sends the carrier there.
   */
  admit(route: Route, params: () => ConnectionParams, sip: IncomingCall, onRefused: (r: RefusedCall) => void): Promise<RefusedAdmission> | undefined {
    if (!this.router) return undefined;
    const c = this.choose(route, params());
    this.place(route, c);
    if (c.ok) return undefined;
    const who = route.tenant ? `tenant ${route.tenant}` : `DID ${normaliseNumber(uriUser(sip.invite.uri))}`;
    const short = c.rule === 'pinned' ? `${who} pinned to region ${c.tried[0]}, which cannot serve now` : `${who}: no region of ${c.tried.join(', ')} can serve now`;
    this.#log.warn({ callId: sip.callId, tenant: route.tenant, why: c.why }, 'call refused: its region cannot serve');
    try {
      const transport = sip.transport.protocol === 'WS' || sip.transport.protocol === 'WSS' ? 'webrtc' : 'sip';
      onRefused({ sipCallId: sip.callId, did: normaliseNumber(uriUser(sip.invite.uri)), caller: normaliseNumber(uriUser(sip.invite.from.uri)), agent: route.agent, tenant: route.tenant ?? 'default', refusal: 'region', transport, region: route.region ?? '' });
    } catch (err) {
      this.#log.warn({ err }, 'a region refusal was not recorded');
    }
    return Promise.resolve({ ok: false, status: 503, reason: 'Service Unavailable', headers: { Warning: `399 warmline "${short}"` }, why: c.why });
  }

  /** A pool of a dead region while another region is alive: calls fail over, so it does not make the replica unready. */
  failingOver(pool: PoolBase<PooledConnection>): boolean {
    const region = this.regionOf(pool);
    if (region === undefined || this.regionHealth(region).alive) return false;
    return [...this.#regions.keys()].some((n) => n !== region && this.regionHealth(n).alive);
  }

  /**
   * Every pool at its floor, or in a dead region while another is alive (its calls fail over): what
   * the gateway waits for before it takes calls. With no regions, every pool's floor, as before.
   */
  async whenWarm(pools: () => readonly PoolBase<PooledConnection>[]): Promise<void> {
    if (!this.router) {
      await Promise.all(pools().map((p) => p.whenReady()));
      return;
    }
    while (!pools().every((p) => p.ready || this.failingOver(p))) {
      const closed = pools().find((p) => p.state === 'closed' || p.state === 'closing');
      if (closed) throw new PoolClosedError({ pool: `${this.label(closed)} (the gateway closed while its pools warmed)` });
      // Polled: a waiter per pass on a pool that stays dead would pile up in its FloorWatch.
      await new Promise<void>((r) => setTimeout(r, 100));
    }
  }

  /** A key the pools must not zero for want of calls: a standby region's (failover runs on it warm) or a promoted one. */
  keeps(key: string): boolean {
    const region = this.#regionOfKey.get(key);
    return (region !== undefined && region !== this.#config.region) || this.#promoted.has(key);
  }

  /** Lowers promoted pools whose failed-over-from regions have all been alive for the hold-down (the timer calls it; tests may too). */
  sweep(now = Date.now()): void {
    for (const n of this.#regions.keys()) {
      if (!this.regionHealth(n).alive) this.#aliveSince.delete(n);
      else if (!this.#aliveSince.has(n)) this.#aliveSince.set(n, now);
    }
    const back = (n: string) => now - (this.#aliveSince.get(n) ?? now) >= HOLD_DOWN_MS;
    for (const [key, p] of this.#promoted) {
      if (![...p.from].every(back)) continue;
      this.#promoted.delete(key);
      this.#pools[p.upstream].setFloor(key, p.floor);
      this.#log.info({ key, from: [...p.from] }, 'the region calls failed over from serves again: standby pool back to its standby floor');
    }
  }

  view(): RegionsView[] {
    return [...this.#regions.values()].map(({ endpoints: r }) => {
      const h = this.regionHealth(r.name);
      const rtt = this.rttMs(r.name);
      return {
        region: r.name, home: r.name === this.#config.region, alive: h.alive, ...(h.why && { why: h.why }), ...(rtt !== undefined && { rttMs: rtt }),
        endpoints: Object.fromEntries(NAMES.map((u) => [u, r.endpoints[u].baseUrl])) as Record<UpstreamName, string>,
        regional: [...r.regional], calls: { ...(this.#counts.get(r.name) ?? { near: 0, failover: 0, refused: 0 }) },
      };
    });
  }

  /** GET /api/regions. */
  routes(): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
    return async (req, res) => {
      if ((req.url ?? '/').split('?')[0] !== '/api/regions' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ region: this.#config.region, rule: this.#config.routing, regions: this.view() }));
      return true;
    };
  }

  close(): void {
    if (this.#sweeper) clearInterval(this.#sweeper);
  }
}
