/**
 * bench:soak — the gateway at steady load with churn, for a long time, with
 * the providers misbehaving: does anything leak or drift?
 *
 *   npm run bench:soak -- [--minutes 30] [--json] [--concurrency 3] [--registrations 20] [--no-chaos]
 *
 * One gateway in this process (its local upstreams inside it, provider chaos on:
 * drops, stalls, 429/503, slow first byte, refusals), its leases in a private
 * redis-server that is restarted (killed, then started empty) midway, and
 * standing registrations with a private Kamailio registrar (Expires 60, so they
 * refresh all along). `--concurrency` callers place calls back to back with
 * sipp and a real RTP peer: each call hears the greeting, says a sentence,
 * waits for the reply, then goes quiet until the RTP timeout hangs up.
 *
 * A call fails when sipp reports a failure or the caller hears no reply.
 * Measured from after warm-up (first call done, GC) to after the load stopped,
 * chaos turned off and the pools settled (GC again):
 * - heap_growth_mb: V8 heap used after GC, end minus start;
 * - fd_growth: open file descriptors of the process, end minus start;
 * - leaked_leases: pool leases still out once every call has ended;
 * - pool_size_drift: Σ over pools of |open connections − the pool's own target| at the end
 *   (a pool's target follows the observed peak, so raw size is no measure of a leak).
 * The process runs with --expose-gc (see package.json).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { loadConfig } from '../src/config/index.js';
import { startGateway, type Gateway } from '../src/boot/gateway.js';
import { createLogger } from '../src/log.js';
import { Synthesizer, type ChaosOptions } from '../src/local/index.js';
import { RedisServer } from '../test/support/redis-server.js';
import { Kamailio } from '../test/support/kamailio.js';
import { RtpPeer } from '../test/support/rtp-peer.js';
import { sipp } from '../test/support/sipp.js';
import { fdCensus, censusDiff } from './support/fd-census.js';
import { until, sleep } from '../test/support/wait.js';

const SCENARIO = fileURLToPath(new URL('../test/integration/calls/scenarios/call-wait-bye.xml', import.meta.url));
const CHAOS: ChaosOptions = { dropPerSecond: 0.01, stallRate: 0.01, errorRate: 0.02, slowFirstByteMs: 20, refusePerSecond: 0.004, refuseForMs: 1500 };

interface Args { minutes: number; json: boolean; concurrency: number; registrations: number; chaos: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { minutes: 30, json: false, concurrency: 3, registrations: 20, chaos: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const num = () => {
      const n = Number(argv[++i]);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a number > 0`);
      return n;
    };
    if (flag === '--json') a.json = true;
    else if (flag === '--no-chaos') a.chaos = false;
    else if (flag === '--minutes') a.minutes = num();
    else if (flag === '--concurrency') a.concurrency = Math.round(num());
    else if (flag === '--registrations') a.registrations = Math.round(num());
    else throw new Error(`unknown argument ${flag}`);
  }
  return a;
}

const silence = (ms: number) => Buffer.alloc((ms * 8000) / 1000, 0xff);
const fds = () => readdirSync('/proc/self/fd').length;
const gc = (globalThis as { gc?: () => void }).gc;

async function settledHeapMb(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(100);
  }
  return process.memoryUsage().heapUsed / 1_048_576;
}

/** Σ over pools of |open connections − the pool's own target|: a pool that lost or piled up connections. */
function poolDrift(g: Gateway): number {
  let drift = 0;
  for (const set of Object.values(g.pools)) for (const p of set.pools()) drift += Math.abs(p.stats().size - p.stats().target);
  return drift;
}

/** Open connections per pool ("asr 2, tts 1…"): fd growth that matches a pool grown to its target is no leak. */
function poolSizes(g: Gateway): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const set of Object.values(g.pools)) for (const p of set.pools()) sizes[p.name] = (sizes[p.name] ?? 0) + p.stats().size;
  return sizes;
}

function leasesOut(g: Gateway): number {
  let n = 0;
  for (const set of Object.values(g.pools)) for (const p of set.pools()) n += p.stats().inUse;
  return n;
}

interface CallResult { ok: boolean; reason?: string; turnText?: string }

let callSeq = 0;

/** One whole call: greeting, one sentence, the reply, then quiet until the RTP timeout hangs up. */
async function oneCall(g: Gateway, speech: Buffer): Promise<CallResult> {
  const peer = await RtpPeer.bind();
  let talking = false;
  let quiet: Promise<void> = Promise.resolve();
  try {
    // A called number of its own (the route is `*`): concurrent callers must each find their own call.
    const did = `1555${String(++callSeq).padStart(7, '0')}`;
    const run = sipp(g.sip, ['-sf', SCENARIO, '-s', did, '-key', 'rtp_port', String(peer.port), '-m', '1'], 90);
    const find = () => g.calls.view().active.find((c) => c.did === did && c.localPort !== undefined);
    let call = find();
    await until(() => (call = find()) !== undefined, 'call answered', 20_000);
    const id = call!.id;
    const mine = () => g.calls.view().active.find((c) => c.id === id);
    peer.target('127.0.0.1', call!.localPort!);
    talking = true;
    quiet = (async () => { while (talking) await peer.send(silence(200)); })();
    await until(() => (mine()?.turns.length ?? 0) >= 1, 'greeting', 30_000);
    talking = false;
    await quiet;
    const heardBefore = peer.voiced().length;
    await peer.send(speech);
    talking = true;
    quiet = (async () => { while (talking) await peer.send(silence(200)); })();
    await until(() => (mine()?.turns.length ?? 0) >= 2, 'reply turn', 45_000);
    const turn = mine()!.turns[1]!;
    talking = false;
    await quiet;
    const r = await run.done;
    if (peer.voiced().length <= heardBefore) {
      if (process.env.SOAK_DEBUG) process.stderr.write(`${JSON.stringify({ turn, received: peer.received.length, voiced: peer.voiced().length, heardBefore, sipp: r.code })}\n`);
      return { ok: false, reason: `no reply heard (turn ${turn.outcome})`, turnText: turn.text };
    }
    if (r.code !== 0) return { ok: false, reason: `sipp exit ${r.code}`, turnText: turn.text };
    return { ok: true, turnText: turn.text };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  } finally {
    talking = false;
    await quiet;
    peer.close();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!gc) process.stderr.write('bench:soak: run with --expose-gc (npm run bench:soak) for a meaningful heap figure\n');
  const redis = new RedisServer();
  const registrar = new Kamailio({ maxExpires: 60 });
  await redis.start();
  await registrar.start();
  // An RTP range of its own: other processes on this machine bind theirs.
  const rtpBase = 30000 + ((process.pid * 13) % 20) * 1000;
  const accounts = Array.from({ length: args.registrations }, (_, i) => `soak${String(i).padStart(3, '0')}`);
  const config = loadConfig({
    env: {},
    overrides: {
      server: { httpPort: 0 },
      log: { level: 'silent' },
      sip: { port: 0 },
      media: { portMin: rtpBase, portMax: rtpBase + 999, rtpTimeoutMs: 1000 },
      local: { asrRecognizer: 'vad', ...(args.chaos && { chaos: CHAOS }) },
      leases: { store: 'redis', redisUrl: redis.url },
      agents: { receptionist: { greeting: 'Hello, how can I help?' } },
      registrations: accounts.map((id) => ({ id, user: id, domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: registrar.port }, password: Kamailio.password(id), expires: 60 })),
    },
  });
  const g = await startGateway(config, { log: createLogger('silent'), registry: new Registry() });
  const results: CallResult[] = [];
  let redisRestarted = false;
  try {
    await g.whenReady();
    const speech = await new Synthesizer().synthesize('Hello, I would like to book an appointment for tomorrow please.');
    // Warm-up: one call, so that lazily built code paths and caches exist before the baseline.
    await oneCall(g, speech);
    await until(() => leasesOut(g) === 0 && g.calls.activeCount === 0, 'warm-up call over', 30_000);
    const start = { heapMb: await settledHeapMb(), fds: fds(), census: fdCensus(), sizes: poolSizes(g), drift: poolDrift(g), at: performance.now() };
    const deadline = start.at + args.minutes * 60_000;
    const midway = start.at + args.minutes * 30_000;

    const redisChurn = (async () => {
      await sleep(Math.max(0, midway - performance.now()));
      await redis.kill();
      await sleep(5000);
      await redis.start();
      redisRestarted = true;
    })();
    const callers = Array.from({ length: args.concurrency }, async (_, i) => {
      await sleep(i * 1500); // staggered, so the calls do not move in lockstep
      while (performance.now() < deadline) results.push(await oneCall(g, speech));
    });
    let lastReport = performance.now();
    // fds and heap once a minute: a leak climbs with the calls, a lazily opened resource steps once.
    const series: Array<{ min: number; calls: number; fds: number; heap_mb: number }> = [];
    const sampler = setInterval(() => {
      series.push({ min: Math.round((performance.now() - start.at) / 60_000), calls: results.length, fds: fds(), heap_mb: Number((process.memoryUsage().heapUsed / 1_048_576).toFixed(1)) });
    }, 60_000);
    const progress = setInterval(() => {
      if (args.json || performance.now() - lastReport < 30_000) return;
      lastReport = performance.now();
      const failed = results.filter((r) => !r.ok).length;
      process.stdout.write(`  ${((performance.now() - start.at) / 60_000).toFixed(1)} min: ${results.length} calls, ${failed} failed, heap ${(process.memoryUsage().heapUsed / 1_048_576).toFixed(1)} MB, fds ${fds()}\n`);
    }, 1000);
    await Promise.all([...callers, redisChurn]);
    clearInterval(progress);
    clearInterval(sampler);

    // Quiet: every call over, chaos off, pools back at their size, then measure.
    await until(() => g.calls.activeCount === 0, 'calls over', 60_000);
    for (const s of [g.local!.asr, g.local!.tts, g.local!.llm, g.local!.crm]) s.chaos.set({});
    await sleep(5000);
    await until(() => Object.values(g.pools).every((set) => set.pools().every((p) => p.stats().ready)), 'pools ready', 30_000).catch(() => undefined);
    const chaosCounts = [g.local!.asr, g.local!.tts, g.local!.llm, g.local!.crm].map((s) => s.chaos.counts);
    const end = { heapMb: await settledHeapMb(), fds: fds(), census: fdCensus(), sizes: poolSizes(g), drift: poolDrift(g) };
    const replica = (await (await fetch(`${g.opsUrl}/api/replica`)).json().catch(() => ({}))) as { registrations?: Array<{ state: string }> };
    const failures = results.filter((r) => !r.ok);
    const out = {
      minutes: args.minutes,
      concurrency: args.concurrency,
      calls: results.length,
      failed_calls: failures.length,
      heap_growth_mb: Number((end.heapMb - start.heapMb).toFixed(2)),
      fd_growth: end.fds - start.fds,
      // Which kinds of fd changed (tcp →6379 is the Redis client, unix is a worker's channel…): growth that is one
      // lazily opened resource stays put over a longer run; a leak grows with the calls.
      fd_changes: censusDiff(start.census, end.census),
      // With the local upstreams in this process a pooled connection is two fds (client and server end).
      pool_sizes: { start: start.sizes, end: end.sizes },
      leaked_leases: leasesOut(g),
      pool_size_drift: end.drift,
      redis_restarted: redisRestarted,
      registrations: args.registrations,
      registrations_registered: (replica.registrations ?? []).filter((r) => r.state === 'registered').length,
      chaos: chaosCounts.reduce((a, c) => ({ drops: a.drops + c.drops, stalls: a.stalls + c.stalls, errors: a.errors + c.errors, refusals: a.refusals + c.refusals }), { drops: 0, stalls: 0, errors: 0, refusals: 0 }),
      per_minute: series,
      failure_reasons: [...new Set(failures.map((f) => f.reason ?? 'unknown'))].slice(0, 5),
    };
    const rows: Array<[string, string]> = [
      ['minutes / callers', `${out.minutes} / ${out.concurrency}`],
      ['calls', String(out.calls)],
      ['failed calls', `${out.failed_calls}${out.failure_reasons.length ? ` (${out.failure_reasons.join('; ')})` : ''}`],
      ['heap growth (after GC)', `${out.heap_growth_mb} MB (${start.heapMb.toFixed(1)} → ${end.heapMb.toFixed(1)})`],
      ['fd growth', `${out.fd_growth} (${start.fds} → ${end.fds})`],
      ['fd kinds changed', out.fd_changes.join('; ') || 'none'],
      ['pool sizes start → end', Object.keys(end.sizes).map((k) => `${k} ${start.sizes[k] ?? 0} → ${end.sizes[k]}`).join(', ')],
      ['leases still out', String(out.leaked_leases)],
      ['pool size drift', `${out.pool_size_drift} (at start ${start.drift})`],
      ['redis restarted midway', String(out.redis_restarted)],
      ['registrations registered', `${out.registrations_registered} of ${out.registrations}`],
      ['chaos', `${out.chaos.drops} drops, ${out.chaos.stalls} stalls, ${out.chaos.errors} 429/503, ${out.chaos.refusals} refusals`],
    ];
    for (const [k, v] of rows) process.stdout.write(`${k.padEnd(28)} ${v}\n`);
    if (args.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await g.close();
    await registrar.dispose();
    await redis.dispose();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stderr.write(`bench:soak: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
