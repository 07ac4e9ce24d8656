/**
 * bench:pools — warm pools against cold connects through an emulated 40 ms RTT.
 *
 *   npm run bench:pools [-- --json] [--emulation auto|netns|proxy] [--one-way-ms 20]
 *                       [--cold-samples 20] [--sessions 200] [--rounds 5] [--turns 200]
 *                       [--http-only | --no-http]
 *
 * First, on loopback, node:http2 against undici for the LLM/CRM HTTP traffic
 * (bench/support/http-clients.ts; `--http-only` runs just that, `--no-http` skips it); its
 * figures join the table and the JSON of the pools run.
 *
 * Emulation (printed with the results):
 * - netns-tap-forwarder (default when root with /dev/net/tun): the local upstreams run in
 *   namespace B, the pools in namespace A (this file re-executes itself there with
 *   `ip netns exec`), joined by a TAP link whose forwarder holds each frame N ms each way.
 *   Every round trip is real, the TCP handshake's included.
 * - tcp-delay-proxy (fallback): the upstreams run on loopback behind one delay proxy each;
 *   the TCP handshake with the proxy is instant, so a cold connect costs one RTT less.
 *
 * Roles (internal): `--role upstreams --host H` starts the local upstreams and a small
 * stats endpoint (the servers' handshake counters are read through it, across the
 * namespace boundary); `--role pools` measures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { readJsonLine, stopChild as stop, waitExit } from './support/child.js';
import { createDelayedLink, delayedLinkUnavailableReason, type DelayedLink } from './support/delayed-link.js';
import { viaDelayProxy, type DelayProxy } from './support/delay-proxy.js';
import { compareHttpClients } from './support/http-clients.js';
import {
  ExclusivePool,
  MultiplexedPool,
  type ConnectionFactory,
  type Lease,
  type PoolBase,
  type PooledConnection,
} from '../src/pools/index.js';
import {
  createCrmFactory,
  createDeepgramFactory,
  createElevenLabsFactory,
  createLlmFactory,
  type CrmSession,
  type DeepgramConnection,
  type ElevenLabsConnection,
  type LlmSession,
} from '../src/upstreams/index.js';

const SELF = fileURLToPath(import.meta.url);

export interface BenchArgs {
  role: 'main' | 'upstreams' | 'pools';
  json: boolean;
  emulation: 'auto' | 'netns' | 'proxy';
  oneWayMs: number;
  coldSamples: number;
  sessions: number;
  rounds: number;
  turns: number;
  host: string;
  upstreams?: string;
  emulationLabel?: string;
  http: 'also' | 'only' | 'skip';
  /** The HTTP client comparison's figures, measured by the main role and carried to the pools role. */
  httpClients?: string;
}

function parseArgs(argv: readonly string[]): BenchArgs {
  const a: BenchArgs = {
    role: 'main',
    json: false,
    emulation: 'auto',
    oneWayMs: 20,
    coldSamples: 20,
    sessions: 200,
    rounds: 5,
    turns: 200,
    host: '127.0.0.1',
    http: 'also',
  };
  const num = (name: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      throw new Error(`--${name} ${JSON.stringify(v)}: expected a number in ${min}..${max}`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = (): string | undefined => argv[++i];
    switch (k) {
      case '--json': a.json = true; break;
      case '--role': {
        const r = v();
        if (r !== 'main' && r !== 'upstreams' && r !== 'pools') throw new Error(`--role ${r}: expected main|upstreams|pools`);
        a.role = r;
        break;
      }
      case '--emulation': {
        const e = v();
        if (e !== 'auto' && e !== 'netns' && e !== 'proxy') throw new Error(`--emulation ${e}: expected auto|netns|proxy`);
        a.emulation = e;
        break;
      }
      case '--one-way-ms': a.oneWayMs = num('one-way-ms', v(), 0, 1000); break;
      case '--cold-samples': a.coldSamples = num('cold-samples', v(), 1, 200); break;
      case '--sessions': a.sessions = num('sessions', v(), 1, 1000); break;
      case '--rounds': a.rounds = num('rounds', v(), 1, 50); break;
      case '--turns': a.turns = num('turns', v(), 1, 2000); break;
      case '--host': a.host = v() ?? a.host; break;
      case '--upstreams': a.upstreams = v(); break;
      case '--emulation-label': a.emulationLabel = v(); break;
      case '--http-only': a.http = 'only'; break;
      case '--no-http': a.http = 'skip'; break;
      case '--http-clients': a.httpClients = v(); break;
      default: throw new Error(`unknown argument ${k}`);
    }
  }
  return a;
}

function passThrough(a: BenchArgs): string[] {
  return [
    ...(a.json ? ['--json'] : []),
    '--one-way-ms', String(a.oneWayMs),
    '--cold-samples', String(a.coldSamples),
    '--sessions', String(a.sessions),
    '--rounds', String(a.rounds),
    '--turns', String(a.turns),
    ...(a.httpClients ? ['--http-clients', a.httpClients] : []),
  ];
}

const tsxArgs = (role: string, extra: readonly string[]): string[] => [process.execPath, '--import', 'tsx', SELF, '--role', role, ...extra];

/** The upstreams role: real local servers plus a stats endpoint, until SIGTERM or stdin closes. */
async function runUpstreamsRole(a: BenchArgs): Promise<void> {
  const localPath = '../src/local/index.js';
  const local = (await import(localPath)) as LocalModuleShape;
  const up = await local.startLocalUpstreams({ host: a.host });
  const servers = { asr: up.asr, tts: up.tts, llm: up.llm, crm: up.crm };
  const statsServer = http.createServer((req, res) => {
    const body =
      req.url === '/ping'
        ? 'pong'
        : JSON.stringify(Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, { ...s.stats }])));
    res.writeHead(200, { 'content-type': req.url === '/ping' ? 'text/plain' : 'application/json' }).end(body);
  });
  statsServer.keepAliveTimeout = 120_000;
  await new Promise<void>((r) => statsServer.listen(0, a.host, r));
  const port = (statsServer.address() as { port: number }).port;
  const info: UpstreamsInfo = {
    asr: up.asr.url,
    tts: up.tts.url,
    llm: up.llm.url,
    crm: up.crm.url,
    ca: up.ca,
    statsUrl: `http://${a.host}:${port}`,
  };
  let closing = false;
  const shutdown = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    statsServer.closeAllConnections();
    statsServer.close();
    await up.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.stdin.on('end', () => void shutdown());
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify(info)}\n`);
}

async function runNetns(a: BenchArgs): Promise<number> {
  let link: DelayedLink | undefined;
  let upstreams: ChildProcess | undefined;
  let pools: ChildProcess | undefined;
  const onSignal = (): void => {
    void Promise.all([stop(pools), stop(upstreams)]).then(() => link?.close()).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    link = await createDelayedLink({ oneWayDelayMs: a.oneWayMs, name: 'pools' });
    upstreams = link.spawn('B', tsxArgs('upstreams', ['--host', link.addrB]), { stdio: ['pipe', 'pipe', 'inherit'] });
    const info = await readJsonLine<UpstreamsInfo>(upstreams, 120_000);
    pools = link.spawn(
      'A',
      tsxArgs('pools', [...passThrough(a), '--emulation-label', link.emulation, '--upstreams', JSON.stringify(info)]),
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    return await waitExit(pools);
  } finally {
    await stop(pools);
    await stop(upstreams);
    await link?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function runProxy(a: BenchArgs): Promise<number> {
  let upstreams: ChildProcess | undefined;
  const proxies: DelayProxy[] = [];
  try {
    const [cmd, ...argv] = tsxArgs('upstreams', ['--host', '127.0.0.1']) as [string, ...string[]];
    upstreams = spawn(cmd, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
    const direct = await readJsonLine<UpstreamsInfo>(upstreams, 120_000);
    const via = (url: string): Promise<string> => viaDelayProxy(url, a.oneWayMs, proxies);
    const info: UpstreamsInfo = {
      asr: await via(direct.asr),
      tts: await via(direct.tts),
      llm: await via(direct.llm),
      crm: await via(direct.crm),
      ca: direct.ca,
      statsUrl: await via(direct.statsUrl),
    };
    return await runPoolsRole({ ...a, emulationLabel: 'tcp-delay-proxy' }, info);
  } finally {
    await Promise.all(proxies.map((p) => p.close()));
    await stop(upstreams);
  }
}

// ---------------------------------------------------------------------------------------
// Measurement (the pools role). The shapes below are the parts of src/local, src/pools and
// src/upstreams this bench touches.

export interface UpstreamsInfo {
  asr: string;
  tts: string;
  llm: string;
  crm: string;
  ca: string;
  statsUrl: string;
}

interface ServerStats {
  connectionsAccepted: number;
  handshakesCompleted: number;
  activeConnections: number;
  requests: number;
}

interface LocalModuleShape {
  startLocalUpstreams(o: { host?: string; apiKey?: string }): Promise<{
    asr: { url: string; stats: ServerStats };
    tts: { url: string; stats: ServerStats };
    llm: { url: string; stats: ServerStats };
    crm: { url: string; stats: ServerStats };
    ca: string;
    close(): Promise<void>;
  }>;
}

const UPSTREAMS = ['asr', 'tts', 'llm', 'crm'] as const;
type Upstream = (typeof UPSTREAMS)[number];

const sortNum = (xs: readonly number[]): number[] => [...xs].sort((x, y) => x - y);
function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = sortNum(xs);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}
const median = (xs: readonly number[]): number => quantile(xs, 0.5);
const round = (x: number, d = 3): number => Math.round(x * 10 ** d) / 10 ** d;

/** Bounded wait for a condition, polled. */
async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function withTimeout<T>(what: string, p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/** A kept-alive HTTP client to the upstreams' stats endpoint: one request = one RTT once connected. */
class StatsClient {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  constructor(private readonly base: string) {}

  get(path: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = http.get(`${this.base}${path}`, { agent: this.#agent, timeout: 30_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on('error', reject);
    });
  }

  async serverStats(): Promise<Record<Upstream, ServerStats>> {
    return JSON.parse(await this.get('/stats')) as Record<Upstream, ServerStats>;
  }

  /** Median of `n` request round trips on the warm connection. */
  async rttMs(n: number): Promise<number> {
    await this.get('/ping');
    const xs: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await this.get('/ping');
      xs.push(performance.now() - t0);
    }
    return median(xs);
  }

  close(): void {
    this.#agent.destroy();
  }
}

const handshakes = (s: Record<Upstream, ServerStats>, us: readonly Upstream[]): number => us.reduce((n, u) => n + s[u].handshakesCompleted, 0);

// The engine and connectors, as this bench uses them (src/pools, src/upstreams).
type LeaseShape = Lease<PooledConnection>;
type PoolShape = PoolBase<PooledConnection>;

interface Engine {
  /** Upstreams whose connector exists in src/upstreams. */
  active: Upstream[];
  factories: Record<Upstream, ConnectionFactory<PooledConnection>>;
  makePool(u: Upstream, min: number, max: number): PoolShape;
  /** One simulated turn's use of a lease on each pool. */
  use: Record<Upstream, (lease: LeaseShape, turn: number) => Promise<void>>;
}

const API_KEY = 'local-dev-key';

async function loadEngine(info: UpstreamsInfo): Promise<Engine> {
  const common = { apiKey: API_KEY, ca: info.ca };
  const factories: Record<Upstream, ConnectionFactory<PooledConnection>> = {
    asr: createDeepgramFactory({ ...common, baseUrl: info.asr, model: 'nova-2', language: 'en', endpointingMs: 300 }),
    tts: createElevenLabsFactory({ ...common, baseUrl: info.tts, voiceId: 'bench', modelId: 'eleven_flash_v2_5', multiContext: true }),
    llm: createLlmFactory({ ...common, provider: 'openai', baseUrl: info.llm, model: 'gpt-4o-mini', streamsPerSession: 100 }),
    crm: createCrmFactory({ ...common, baseUrl: info.crm }),
  };
  const exclusive = new Set<Upstream>(['asr']);
  const audio = Buffer.alloc(160 * 10, 0xff); // 200 ms of µ-law silence, 20 ms frames
  return {
    active: [...UPSTREAMS],
    factories,
    makePool(u, min, max) {
      const options = {
        name: `bench-${u}`,
        factory: factories[u],
        min,
        max,
        acquireTimeoutMs: 30_000,
        keepaliveMs: 4_000,
        keepaliveTimeoutMs: 5_000,
      };
      return exclusive.has(u) ? new ExclusivePool(options) : new MultiplexedPool(options);
    },
    use: {
      async asr(lease) {
        const c = lease.conn as DeepgramConnection;
        for (let i = 0; i < audio.length; i += 160) c.sendAudio(audio.subarray(i, i + 160));
      },
      async llm(lease, turn) {
        const c = lease.conn as LlmSession;
        const messages = [{ role: 'user' as const, content: `turn ${turn % 7}: what are your hours?` }];
        for await (const ev of c.chat({ leaseId: lease.id, messages })) {
          if (ev.type === 'done') break;
        }
      },
      async tts(lease) {
        const ctx = (lease.conn as ElevenLabsConnection).context(lease.id);
        const done = new Promise<void>((resolve) => ctx.once('done', () => resolve()));
        ctx.speak('Thanks for calling, how can I help?');
        ctx.flush();
        await withTimeout('TTS synthesis', done, 30_000);
      },
      async crm(lease) {
        await (lease.conn as CrmSession).lookupCaller(lease.id, '+15551230001');
      },
    },
  };
}

interface PoolSizes {
  min: number;
  max: number;
}

/** Sizes that let `sessions` concurrent lessees all find a warm connection. */
function sizesFor(sessions: number): Record<Upstream, PoolSizes> {
  // ASR is exclusive and its reset (Finalize + wait for the flushed result) keeps a
  // released socket busy one RTT or more: room for a second round in flight.
  const asr = Math.ceil(sessions * 1.25);
  // TTS multi-context sockets carry 5 contexts; HTTP/2 sessions carry up to 100 streams.
  const tts = Math.ceil((sessions * 1.25) / 5);
  const h2 = Math.max(2, Math.ceil((sessions * 1.25) / 100));
  return {
    asr: { min: asr, max: asr * 2 },
    tts: { min: tts, max: tts * 2 },
    llm: { min: h2, max: h2 * 2 },
    crm: { min: h2, max: h2 * 2 },
  };
}

const sumOpens = (pools: Record<Upstream, PoolShape>, us: readonly Upstream[]): number => us.reduce((n, u) => n + pools[u].stats().opens, 0);

async function runPoolsRole(a: BenchArgs, info: UpstreamsInfo): Promise<number> {
  const deadline = performance.now() + 600_000; // the whole bench, bounded
  const left = (): number => Math.max(1000, deadline - performance.now());
  const stats = new StatsClient(info.statsUrl);
  const pools: Partial<Record<Upstream, PoolShape>> = {};
  const log = (msg: string): void => {
    console.error(`bench:pools: ${msg}`);
  };
  try {
    const rtt = await stats.rttMs(10);
    log(`emulation ${a.emulationLabel ?? 'unknown'}, one-way ${a.oneWayMs} ms, measured RTT ${rtt.toFixed(1)} ms`);
    const engine = await loadEngine(info);
    const ACTIVE = engine.active;
    if (ACTIVE.length === 0) throw new Error('src/upstreams exports no connector factory yet');
    log(`upstreams measured: ${ACTIVE.join(', ')}; left out (no connector yet): ${UPSTREAMS.filter((u) => !ACTIVE.includes(u)).join(', ') || 'none'}`);

    // Cold: factory.open() to a usable connection, one at a time, closed right after.
    const cold: Record<Upstream, number[]> = { asr: [], tts: [], llm: [], crm: [] };
    for (const u of ACTIVE) {
      for (let i = 0; i < a.coldSamples; i++) {
        const ac = new AbortController();
        const t0 = performance.now();
        const conn = await withTimeout(`cold open ${u}`, engine.factories[u].open(ac.signal), 30_000);
        cold[u].push(performance.now() - t0);
        conn.destroy();
      }
      log(`cold ${u}: median ${median(cold[u]).toFixed(1)} ms over ${cold[u].length}`);
    }

    // Warm floor for `sessions` concurrent sessions on every pool.
    const sizes = sizesFor(a.sessions);
    const tReady = performance.now();
    for (const u of ACTIVE) {
      const p = engine.makePool(u, sizes[u].min, sizes[u].max);
      pools[u] = p;
      await p.start();
    }
    const all = pools as Record<Upstream, PoolShape>;
    await withTimeout('pools warm floor', Promise.all(ACTIVE.map((u) => all[u].whenReady())), left());
    log(`pools warm in ${(performance.now() - tReady).toFixed(0)} ms: ${ACTIVE.map((u) => `${u}=${all[u].stats().size}`).join(' ')}`);

    // Warm acquire, one at a time.
    const warm: number[] = [];
    for (const u of ACTIVE) {
      for (let i = 0; i < 100; i++) {
        const t0 = performance.now();
        const lease = await all[u].acquire();
        warm.push(performance.now() - t0);
        lease.release();
      }
    }

    // Concurrent: `sessions` sessions each acquire one lease on every pool, then release,
    // for `rounds` rounds; between rounds the pools get their released connections back.
    const concurrent: number[] = [];
    const concurrentAwaited: number[] = [];
    const idleFloor = (u: Upstream): number => Math.min(all[u].stats().size, sizes[u].min);
    for (let r = 0; r < a.rounds; r++) {
      await until('released connections to return', () => ACTIVE.every((u) => all[u].stats().inUse === 0 && all[u].stats().idle >= Math.min(idleFloor(u), a.sessions)), 60_000);
      const leases = await Promise.all(
        Array.from({ length: a.sessions }, async () => {
          const mine: LeaseShape[] = [];
          for (const u of ACTIVE) {
            const t0 = performance.now();
            const lease = await all[u].acquire();
            // Two views: the pool's own call-to-grant time, and the awaited time, which
            // also counts the other 199 sessions' continuations queued ahead on the loop.
            concurrentAwaited.push(performance.now() - t0);
            concurrent.push(lease.acquireMs);
            mine.push(lease);
          }
          return mine;
        }),
      );
      for (const l of leases.flat()) l.release();
    }

    // Turns on warm pools: count opens from both ends.
    await until('pools idle before turns', () => ACTIVE.every((u) => all[u].stats().inUse === 0), 60_000);
    const opens0 = sumOpens(all, ACTIVE);
    const hs0 = handshakes(await stats.serverStats(), ACTIVE);
    const turnConcurrency = Math.min(50, a.sessions);
    let next = 0;
    const turnMs: number[] = [];
    const worker = async (): Promise<void> => {
      while (next < a.turns && performance.now() < deadline) {
        const turn = next++;
        const t0 = performance.now();
        for (const u of (['asr', 'llm', 'tts', 'crm'] as const).filter((x) => ACTIVE.includes(x))) {
          const lease = await all[u].acquire();
          try {
            await engine.use[u](lease, turn);
          } finally {
            lease.release();
          }
        }
        turnMs.push(performance.now() - t0);
      }
    };
    await withTimeout('turns', Promise.all(Array.from({ length: turnConcurrency }, worker)), left());
    await until('pools idle after turns', () => ACTIVE.every((u) => all[u].stats().inUse === 0), 60_000);
    // Let every open the turns caused (a replacement after an unclean reset, growth) finish
    // and reach the server's counter before either side is read.
    await until('opens to settle', () => ACTIVE.every((u) => all[u].stats().opening === 0), 60_000);
    await new Promise((r) => setTimeout(r, Math.max(500, 5 * rtt)));
    const poolOpens = sumOpens(all, ACTIVE) - opens0;
    const serverOpens = handshakes(await stats.serverStats(), ACTIVE) - hs0;

    const coldAll = ACTIVE.flatMap((u) => cold[u]);
    const warmMedian = median(warm);
    const result = {
      bench: 'pools',
      upstreams_measured: ACTIVE,
      emulation: a.emulationLabel ?? 'unknown',
      one_way_delay_ms: a.oneWayMs,
      rtt_ms: round(rtt, 2),
      cold_samples_per_upstream: a.coldSamples,
      cold_connect_ms: round(median(coldAll), 2),
      cold_connect_ms_by_upstream: Object.fromEntries(ACTIVE.map((u) => [u, round(median(cold[u]), 2)])),
      warm_acquire_ms: round(warmMedian, 4),
      concurrent_sessions: a.sessions,
      concurrent_samples: concurrent.length,
      acquire_p50_ms: round(quantile(concurrent, 0.5), 4),
      acquire_p95_ms: round(quantile(concurrent, 0.95), 4),
      acquire_p99_ms: round(quantile(concurrent, 0.99), 4),
      acquire_awaited_p50_ms: round(quantile(concurrentAwaited, 0.5), 4),
      acquire_awaited_p95_ms: round(quantile(concurrentAwaited, 0.95), 4),
      acquire_awaited_p99_ms: round(quantile(concurrentAwaited, 0.99), 4),
      cold_warm_ratio: round(median(coldAll) / warmMedian, 1),
      turns: turnMs.length,
      turn_median_ms: round(median(turnMs), 1),
      in_turn_opens: poolOpens,
      in_turn_opens_pools: poolOpens,
      in_turn_opens_servers: serverOpens,
      in_turn_opens_agree: poolOpens === serverOpens,
      pool_sizes: Object.fromEntries(ACTIVE.map((u) => [u, all[u].stats().size])),
      ...(a.httpClients ? (JSON.parse(a.httpClients) as Record<string, unknown>) : {}),
      goals: {
        acquire_p99_below_1ms: quantile(concurrent, 0.99) < 1,
        cold_warm_ratio_at_least_100: median(coldAll) / warmMedian >= 100,
        in_turn_opens_zero: poolOpens === 0 && serverOpens === 0,
      },
    };
    printTable(result);
    if (a.json) console.log(JSON.stringify(result));
    return 0;
  } finally {
    stats.close();
    await Promise.all(
      Object.values(pools).map((p) =>
        withTimeout('pool close', p.close(), 10_000).catch(() => p.destroy()),
      ),
    );
  }
}

function printTable(r: Record<string, unknown>): void {
  const rows: [string, string][] = [];
  for (const [k, v] of Object.entries(r)) {
    if (v !== null && typeof v === 'object') {
      for (const [k2, v2] of Object.entries(v as Record<string, unknown>)) rows.push([`${k}.${k2}`, String(v2)]);
    } else rows.push([k, String(v)]);
  }
  const w = Math.max(...rows.map(([k]) => k.length));
  console.log(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n'));
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  if (a.role === 'upstreams') {
    await runUpstreamsRole(a);
    return -1; // keeps running until told to stop
  }
  if (a.role === 'pools') {
    if (!a.upstreams) throw new Error('--role pools needs --upstreams JSON');
    return runPoolsRole(a, JSON.parse(a.upstreams) as UpstreamsInfo);
  }
  // The bench drives the real engine, connectors and local servers; say plainly which is missing.
  const missing = ['../src/local/index.ts'].filter(
    (rel) => !existsSync(fileURLToPath(new URL(rel, import.meta.url))),
  );
  if (missing.length > 0) {
    console.error(`bench:pools: cannot run, not in the tree yet: ${missing.map((m) => m.slice(3)).join(', ')}`);
    return 2;
  }
  if (a.http !== 'skip') {
    const figures = await compareHttpClients();
    if (a.http === 'only') {
      printTable(figures as unknown as Record<string, unknown>);
      if (a.json) console.log(JSON.stringify(figures));
      return 0;
    }
    a.httpClients = JSON.stringify(figures);
  }
  const reason = await delayedLinkUnavailableReason();
  if (a.emulation === 'netns' && reason) throw new Error(`--emulation netns: ${reason}`);
  if (a.emulation === 'proxy' || reason) {
    if (reason) console.error(`bench:pools: namespaces unavailable (${reason}); falling back to the TCP delay proxy`);
    return runProxy(a);
  }
  return runNetns(a);
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    console.error('bench:pools failed:', err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
