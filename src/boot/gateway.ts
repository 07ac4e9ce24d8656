import { Registry, collectDefaultMetrics } from 'prom-client';
import type { WarmlineConfig, UpstreamName, PoolConfig } from '../config/index.js';
import { upstreamNames } from '../config/index.js';
import type { Logger } from '../log.js';
import { startOpsServer, type OpsServer } from '../http/index.js';
import { ExclusivePool, MultiplexedPool, PoolMetrics, PoolSet, type CapacityGate, type ConnectionFactory, type PoolBase, type PooledConnection } from '../pools/index.js';
import type { WarmProgress } from '../cli/progress.js';
import { readFileSync } from 'node:fs';
import { needsLocal, resolveRegions, type LocalUrls } from './upstream-endpoints.js';
import type { UpstreamFactories, UpstreamConnections } from './factories.js';
import { GatewayRegions, routingRules } from './regions.js';
import { startLocalUpstreams, type LocalUpstreams } from '../local/index.js';
import { UserAgent, reliableProvisionals, type Peer, type SipRequest } from '../../sip/index.js';
import { EarlyDrop, EdgeFilter } from '../../sip/edge/index.js';
import { Pacer, PortAllocator, WebRtcEndpoint } from '../../media/index.js';
import { CallManager, Dialer, OverloadGuard, TrunkCaps, Transfers, type TransferDialer, type Route } from '../calls/index.js';
import { callsApiRoutes } from '../http/calls-api.js';
import { renderApologyClip, type AgentUpstreams } from '../agent/index.js';
import { bindSipTransports, pem } from './sip-transports.js';
import { carrierAccounts } from './registration-accounts.js';
import { earlyDropMetrics } from './sip-rejections.js';
import { Coordination } from './coordination.js';
import { Analytics, DemandForecast } from '../analytics/index.js';
import { chainRoutes, dashboardRoutes } from '../dashboard/index.js';
import { gatewayAdmin } from './ops-admin.js';
import { behindBalancers } from './balancer-source.js';
import { startDemo, warnInsecureDemo, type Demo } from './demo.js';
import { Tenants, allConnectionParams, checkTenants, connectionParams, reloadTenants, tenantLimitStoreFor, tenantRoutes, type ConnectionParams } from '../tenants/index.js';

export interface GatewayOptions {
  log: Logger;
  onProgress?: (p: WarmProgress) => void;
  /** A registry of its own per gateway, so tests can run several in one process. */
  registry?: Registry;
  /**
   * Where calls lease their upstreams. Default: the gateway's warm pools.
   * bench:turn swaps in the naive baselines (lazy, prewarm-one) it compares them with.
   */
  agentUpstreams?: (route: Route) => AgentUpstreams;
  /** An ops drain request (POST /api/admin/drain): the CLI exits as on SIGTERM. Default: drain(). */
  onDrainRequest?: () => Promise<unknown>;
  /** Places the fallback transfer's call to the target (outbound calling); absent: REFER only. */
  dialer?: TransferDialer;
  /** Reads the configuration again (SIGHUP, POST /api/admin/tenants/reload take its tenants); absent: no reload. */
  reloadConfig?: () => WarmlineConfig;
}

/** The pools of each upstream, keyed by connection parameters. */
export type UpstreamPools = { [K in UpstreamName]: PoolSet<UpstreamConnections[K]> };

export interface Gateway {
  readonly opsUrl: string;
  readonly config: WarmlineConfig;
  readonly pools: UpstreamPools;
  readonly factories: UpstreamFactories;
  readonly registry: Registry;
  readonly local: LocalUpstreams | undefined;
  /** Where carriers send INVITEs (the first of sip.transports). */
  readonly sip: { address: string; port: number };
  /** Every SIP listener: UDP/TCP on one port, TLS and WS(S) on their own. */
  readonly sipListeners: ReadonlyArray<{ protocol: string; address: string; port: number }>;
  readonly calls: CallManager;
  /** Refuses new calls while the event loop lags (calls.overload); its state is in /api/calls. */
  readonly overload: OverloadGuard;
  readonly tenants: Tenants;
  /** The regions: each call's choice, the standby and promoted floors (its sweep is callable by tests). */
  readonly regions: GatewayRegions;
  /** Takes the tenants of the configuration read again; a broken one is refused and the old kept. */
  reloadTenants(): ReturnType<typeof reloadTenants>;
  /** Outbound calls (POST /api/calls, and `dialer.dial()` without HTTP). */
  readonly dialer: Dialer;
  readonly pacer: Pacer;
  /** The browser demo page (demo.enabled), e.g. http://127.0.0.1:8080/demo/. */
  readonly demoUrl: string | undefined;
  whenReady(): Promise<void>;
  readiness(): { ready: boolean; reasons: string[] };
  /** One line for the terminal: `asr 2/2, tts 1/1, …`. */
  summary(): string;
  /** SIGTERM: not ready, no new calls, calls finish, pools and leases released. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Multiplexed where one connection carries several users. */
function isMultiplexed(config: WarmlineConfig, name: UpstreamName): boolean {
  return name === 'llm' || name === 'crm' || (name === 'tts' && config.upstreams.tts.multiContext);
}

function poolFor<C extends PooledConnection>(config: WarmlineConfig, name: UpstreamName, log: Logger, gate: CapacityGate | undefined) {
  const p: PoolConfig = config.pools[name];
  return (factory: ConnectionFactory<C>): PoolBase<C> => {
    const options = { ...p, name, factory, backoff: config.pools.backoff, logger: log.child({ component: 'pool', pool: name }), ...(gate && { gate }) };
    return isMultiplexed(config, name) ? new MultiplexedPool<C>(options) : new ExclusivePool<C>(options);
  };
}

/**
 * Boots the gateway: local upstreams where no provider is configured, a pool
 * per upstream and per connection key every agent needs (so no agent's first
 * call opens one), the ops server. Returns before the pools are warm; use
 * whenReady().
 */
export async function startGateway(config: WarmlineConfig, options: GatewayOptions): Promise<Gateway> {
  const { log } = options;
  const registry = options.registry ?? new Registry();
  if (!options.registry) collectDefaultMetrics({ register: registry, prefix: 'warmline_process_' });

  // A tenant naming an agent that does not exist stops the start before anything is running.
  checkTenants(config);
  // SIP first: a port or certificate problem stops the start before anything else is running
  // (a TLS registration's CA or client certificate file too: read again when registering starts).
  const accounts = carrierAccounts(config.registrations);
  // HTTPS for the ops server: read before anything binds, so a wrong path fails the boot with its key's name.
  const opsTls = config.server.certFile ? { cert: pem('server.certFile', config.server.certFile), key: pem('server.keyFile', config.server.keyFile) } : undefined;
  // UDP datagrams the edge would refuse anyway are dropped before parsing (set once the edge exists, below).
  let early: EarlyDrop | undefined;
  const transports = await bindSipTransports(config.sip, { registry, log: log.child({ component: 'sip' }) }, config.demo.enabled && (opsTls ?? true), { admit: (s, d) => early?.admit(s, d) ?? true });

  let local: LocalUpstreams | undefined;
  if (upstreamNames.some((n) => needsLocal(config, n))) {
    local = await startLocalUpstreams({
      host: config.local.host,
      apiKey: config.local.apiKey,
      handshakeDelayMs: config.local.handshakeDelayMs,
      firstByteDelayMs: config.local.firstByteDelayMs,
      asrIdleTimeoutMs: config.local.asrIdleTimeoutMs,
      ttsInactivityTimeoutMs: config.local.ttsInactivityTimeoutMs,
      asrRecognizer: config.local.asrRecognizer,
      chaos: config.local.chaos,
    });
    log.info({ asr: local.asr.url, tts: local.tts.url, llm: local.llm.url, crm: local.crm.url, asrRecognizer: local.asrRecognizer }, 'local upstreams started (no provider keys for these)');
    if (local.asrRecognizer.kind === 'stand-in' && config.local.asrRecognizer === 'auto') log.warn({ reason: local.asrRecognizer.reason }, 'the local ASR hears no words: voice-activity stand-in');
  }
  const localUrls: LocalUrls | undefined = local && { asr: local.asr.url, tts: local.tts.url, llm: local.llm.url, crm: local.crm.url, ca: local.ca };
  // One set of endpoints per region (one unnamed set with no regions); a caFile is read before anything connects.
  const regionEndpoints = resolveRegions(config, localUrls, (path) => readFileSync(path, 'utf8'));

  const coordination = new Coordination({
    config, log, registry,
    closeIdle: (name, n) => pools[name].pools().reduce((closed, p) => closed + p.closeIdle(n - closed), 0),
  });
  await coordination.connect();
  let demo: Demo | undefined;
  const tenants = new Tenants({
    config, store: tenantLimitStoreFor(coordination.store), replicaId: coordination.replicaId, registry, log,
    onRefused: (r) => analytics?.onRefused({ ...r, refusal: r.reason }),
    demoTenantOf: (callId) => demo?.tenantOf(callId),
  });
  await tenants.start();
  const analytics = config.analytics.enabled ? await Analytics.open(config.analytics, { log: log.child({ component: 'analytics' }), registry }) : undefined;
  // Zeroed keys come back before their usual peak, learned from the store's pool snapshots (README: pools.historyWeeks).
  const forecast = analytics && config.pools.idleToZeroS > 0 && config.pools.historyWeeks > 0
    ? new DemandForecast(analytics.store, { weeks: config.pools.historyWeeks, leadMs: config.pools.historyLeadS * 1000 }) : undefined;
  // whenMigrated() also settles when analytics closes: start() after stop() does nothing (demand-forecast.ts).
  if (forecast) {
    analytics!.whenMigrated().then(
      () => forecast.start(60_000, (err) => log.warn({ err }, 'pool demand forecast not refreshed (the analytics store did not answer): the last one stays')),
      (err: unknown) => log.warn({ err }, 'pool demand forecast not started (the analytics store was not migrated): zeroed keys come back at their first call only'),
    );
  }
  const metrics = new PoolMetrics(registry);
  const registered: PoolBase<PooledConnection>[] = [];
  const allPools = () => registered;
  let reporting = false;
  const make = <C extends PooledConnection>(name: UpstreamName) => {
    const create = poolFor<C>(config, name, log, coordination.gateFor(name));
    return new PoolSet<C>((factory) => {
      const pool = create(factory);
      // A standby region's pools start at their standby floor (src/boot/regions.ts).
      const floor = regions.floorFor(factory.key);
      if (floor !== undefined && floor !== pool.min) pool.setFloor(floor);
      const any = pool as unknown as PoolBase<PooledConnection>;
      registered.push(any);
      metrics.add(any);
      analytics?.watchPool(any);
      pool.on('open', () => report());
      pool.on('state', () => report());
      return pool;
    }, { idleToZeroMs: config.pools.idleToZeroS * 1000, keep: (key) => regions.keeps(key), ...(forecast && { demandSoon: (key: string) => forecast.expected(key) > 0 }) });
  };
  const pools: UpstreamPools = {
    asr: make<UpstreamConnections['asr']>('asr'),
    tts: make<UpstreamConnections['tts']>('tts'),
    llm: make<UpstreamConnections['llm']>('llm'),
    crm: make<UpstreamConnections['crm']>('crm'),
  };
  const regions = new GatewayRegions(config, regionEndpoints, pools, registry, log);
  const factories = regions.factories();

  // Every agent's connection keys are warmed at boot (tenants' agents and accounts included): a voice,
  // language, model or account used only by one agent must not make its first call pay for a socket.
  // ... in every region a call may be routed to (the far ones at their standby floor).
  const warmKeys = (tenantList: readonly WarmlineConfig['tenants'][number][]) => regions.warm(allConnectionParams(config, tenantList), routingRules(config, tenantList));
  warmKeys(config.tenants);

  function progress(): WarmProgress {
    return { pools: allPools().map((p) => { const s = p.stats(); return { name: regions.label(p), open: s.size, floor: s.min, state: s.state }; }) };
  }
  function report(): void {
    if (reporting) options.onProgress?.(progress());
  }
  reporting = true;
  report();

  let draining = false;
  let closed = false;
  function readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (draining) reasons.push('draining');
    for (const p of allPools()) {
      const s = p.stats();
      // A dead region's pools do not make the replica unready while calls fail over (/api/regions says it).
      if (!s.ready && !regions.failingOver(p)) reasons.push(`pool ${p.name} (${p.factory.key}): ${s.size}/${s.min} warm${s.lastError ? `, last error: ${s.lastError}` : ''}`);
    }
    reasons.push(...coordination.readinessReasons());
    return { ready: reasons.length === 0, reasons };
  }

  const leasesOut = () => allPools().reduce((n, p) => n + p.stats().inUse, 0);

  const paramsOf = (route: Route): ConnectionParams => connectionParams(config, { ...route.profile, ...(route.asrModel && { asrModel: route.asrModel }) }, route.tenant ? tenants.directory.get(route.tenant) : undefined);
  // Inbound calls had their region chosen at admission, outbound ones by the Dialer before their INVITE
  // (a refused choice never gets here); a call that had none (a transfer's leg) takes the home region's.
  const upstreamsFor = (route: Route): AgentUpstreams => regions.upstreams(paramsOf(route), route.region);

  const sipLog = log.child({ component: 'sip' });
  const edge = new EdgeFilter({ carriers: config.sip.carriers, rate: config.sip.rate, logger: sipLog });
  const carrierFilter = behindBalancers(edge.filter, config.sip.balancers);
  early = new EarlyDrop({ isCarrier: (a) => edge.isCarrier(a), trusted: config.sip.balancers, rate: config.sip.rate });
  earlyDropMetrics(registry, () => early!.stats());
  const overload = new OverloadGuard({ ...config.calls.overload, registry, log: log.child({ component: 'overload' }) });
  const ua = new UserAgent({
    transport: transports,
    ...(config.sip.advertise && { advertise: config.sip.advertise }),
    // The edge's answer first (who may call does not change with load), then the overload guard's.
    inboundFilter: (req, source, transport) => (demo ? demo.guard.filter(req, source, transport) : carrierFilter(req, source)) ?? overload.filter(req),
    timers: { T1: config.sip.timers.t1Ms, T2: config.sip.timers.t2Ms, T4: config.sip.timers.t4Ms },
    sessionTimers: { minSE: config.sip.minSessionExpiresS },
  });
  const pacer = new Pacer();
  // The DTLS certificate every browser call presents: made while the pools warm, not in a call's
  // setup; calls are taken only once it exists (it joins `warm` below).
  let webrtc: WebRtcEndpoint | undefined;
  const webrtcReady = WebRtcEndpoint.create({ bindAddress: config.media.host, publicAddress: config.media.advertise, codecs: config.media.codecs, timeoutMs: config.media.rtpTimeoutMs, pacer, fullIce: config.media.webrtcFullIce === true })
    .then((e) => { webrtc = e; return e; }, (err: unknown) => {
      // Carrier calls do not depend on it: browsers' offers get 488 and the rest goes on.
      log.error({ err }, 'WebRTC endpoint unavailable: browser calls will be refused');
      return undefined;
    });
  const ports = new PortAllocator(config.media.portMin, config.media.portMax);
  // The fallback's dialer exists once the Dialer does (below); options.dialer overrides it (tests).
  let transferDialer: TransferDialer | undefined = options.dialer;
  const transfers = new Transfers({ config: config.transfer, dialer: options.dialer ?? (config.outbound.trunks.length ? { dial: (target, o) => transferDialer!.dial(target, o) } : undefined), log });
  const calls = new CallManager({
    transfers,
    ua,
    routes: config.routes,
    agents: config.agents,
    maxConcurrent: config.calls.maxConcurrent,
    media: config.media,
    ports,
    pacer,
    upstreams: options.agentUpstreams ?? upstreamsFor,
    get webrtc() { return webrtc; },
    registry,
    log,
    // RFC 3325: identity asserted by a configured carrier (directly or behind a configured balancer) is believed.
    trustedSource: behindBalancers((_req: SipRequest, source: Peer) => edge.isCarrier(source.address), config.sip.balancers),
    route: (did, sip) => tenants.route(did, sip),
    // The region first: a call whose region cannot serve is refused before it takes a tenant slot.
    admit: (route, sip) => regions.admit(route, () => paramsOf(route), sip, (r) => analytics?.onRefused(r)) ?? tenants.admit(route, sip),
    ...(analytics && { onCall: (call, started) => analytics.onCall(call, started) }),
  });
  const dialer = new Dialer({
    ua, calls, callDeps: { media: config.media, ports, pacer, upstreams: options.agentUpstreams ?? upstreamsFor, get webrtc() { return webrtc; } },
    outbound: config.outbound, registrations: accounts, agents: config.agents, routes: config.routes, maxConcurrent: config.calls.maxConcurrent,
    caps: new TrunkCaps(coordination.store, coordination.replicaId, config.leases.ttlMs), dns: coordination.dns, log,
    reliableProvisional: reliableProvisionals((err) => sipLog.debug({ err }, 'PRACK not answered')),
    admitTrunk: (trunk) => tenants.admitTrunk(trunk),
    overload,
    region: (route, trunk) => {
      // The trunk's tenant's rule, as that tenant's inbound calls have (a route's own rule wins); its
      // DIDs' rules are for inbound numbers.
      const rule = tenants.directory.get(tenants.directory.trunkTenant(trunk))?.routing;
      if (rule && !route.routing) route.routing = rule;
      const c = regions.choose(route, paramsOf(route));
      regions.place(route, c);
      return c.ok ? undefined : c.why;
    },
  });
  const transferTrunk = config.transfer.trunk || dialer.trunks[0];
  if (!options.dialer && transferTrunk !== undefined) transferDialer = dialer.legsThrough(transferTrunk);
  if (config.demo.enabled) demo = startDemo(config.demo, { transports, calls, edge: (req, source) => carrierFilter(req, source), log, tenantFor: (asked) => tenants.directory.demoTenant(asked) });
  // Until every pool holds its floor, INVITEs get 503: a call taken now would pay for the
  // connections still opening, and the balancer has a warm replica to send it to.
  ua.draining = true;
  // The apology clip a turn plays when no TTS socket can be had: rendered now, played from memory then.
  // With regions, a region dead at boot does not hold the others back: its calls fail over (regions.whenWarm).
  const poolsWarm = () => regions.whenWarm(allPools);
  // The guard measures from then on: warming's own work (WASM compiles, TLS handshakes) is not load.
  const warm = Promise.all([poolsWarm(), webrtcReady, renderApologyClip(log)]).then(() => {
    if (!draining && !closed) ua.draining = false;
    if (!closed) overload.start();
  });
  warm.catch(() => undefined);
  coordination.startRegistrations(ua);
  const sipAddress = transports[0]!.local;
  sipLog.info({ listeners: transports.map((t) => `${t.protocol.toLowerCase()}:${t.local.address}:${t.local.port}`), contact: ua.contact }, 'SIP listening');

  const ops: OpsServer = await startOpsServer(config.server.host, config.server.httpPort, {
    registry,
    readiness,
    pools: () => allPools().map((p) => p.stats()),
    // `held`: what calls hold now, all 0 once every call has ended (the vanish tests read it from outside).
    calls: () => ({ ...calls.view(), overload: overload.view(), held: { rtpPorts: ports.inUse, pacerStreams: pacer.stats().streams, leases: leasesOut(), sipTransactions: ua.openTransactions } }),
    replica: () => ({
      replicaId: coordination.replicaId, store: config.leases.store, gates: coordination.gateStats(), registrations: coordination.registrations(),
      sip: transports.map((t) => ({ protocol: t.protocol, address: t.local.address, port: t.local.port })),
    }),
    transfer: { transfer: async (id, target, say) => { const c = calls.find(id); return c && transfers.run(c, target, { ...(say && { say }) }); } },
    admin: gatewayAdmin({ hangup: (id) => calls.hangup(id), poolsOf: (u) => (upstreamNames as readonly string[]).includes(u) ? pools[u as UpstreamName].pools() as PoolBase<PooledConnection>[] : undefined, drain: () => (options.onDrainRequest ?? (() => gateway.drain()))(), reloadTenants: () => gateway.reloadTenants(), log: log.child({ component: 'http' }) }),
    // Each page's routes in turn (the demo's, the dashboard's): the first that handles the request wins.
    extra: chainRoutes([callsApiRoutes(dialer, log.child({ component: 'http' })), tenantRoutes(() => tenants), regions.routes(), demo?.routes, analytics && dashboardRoutes({ analytics, calls: () => calls.view() })]),
  }, log.child({ component: 'http' }), config.ops, opsTls);
  warnInsecureDemo(config, log);
  analytics?.start({ replicaId: () => coordination.replicaId, pools: allPools, calls: () => calls.view(), registrations: () => coordination.registrations(), gates: () => coordination.gateStats(), changes: coordination.changes });

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    ua.draining = true;
    overload.stop();
    await dialer.close();
    await calls.closeAll('shutdown');
    await ua.close();
    await Promise.all(transports.map((t) => t.close()));
    pacer.stop();
    await webrtcReady.then((e) => e?.close()).catch(() => undefined);
    await coordination.releaseRegistrations();
    await Promise.all([pools.asr.close(), pools.tts.close(), pools.llm.close(), pools.crm.close()]);
    tenants.close();
    regions.close();
    forecast?.stop();
    await coordination.close();
    // Every call's row was queued when it ended above: written before the process goes.
    await analytics?.close();
    await ops.close();
    await local?.close();
  }

  const gateway: Gateway = {
    opsUrl: ops.url,
    config,
    pools,
    factories,
    registry,
    local,
    sip: { address: sipAddress.address, port: sipAddress.port },
    sipListeners: transports.map((t) => ({ protocol: t.protocol, address: t.local.address, port: t.local.port })),
    calls,
    overload,
    tenants,
    regions,
    // New tenants' agents and accounts are warmed at once, before their first call.
    reloadTenants: () => reloadTenants(tenants, options.reloadConfig, log).then((r) => { if (r.ok) warmKeys(tenants.directory.tenants); return r; }),
    dialer,
    pacer,
    demoUrl: demo && `${ops.url}/demo/`,
    whenReady: async () => {
      await warm;
      await poolsWarm();
    },
    readiness,
    summary: () => allPools().map((p) => { const s = p.stats(); return `${regions.label(p)} ${s.size}/${s.min}`; }).join(', '),
    drain: async () => {
      draining = true;
      log.info('draining: not ready, new INVITEs get 503, calls in progress may finish');
      // Registrations move to another replica now, not when this one's leases expire.
      await Promise.all([calls.drain(config.calls.drainGraceMs), coordination.releaseRegistrations()]);
      await close();
    },
    close,
  };
  return gateway;
}
