/**
 * bench:calls — full calls per second through the whole gateway, and what each costs it in CPU.
 *
 *   npm run bench:calls [-- --json] [--rate 200] [--calls 2000] [--hold-ms 500] [--no-pin]
 *                       [--log-level info] [--cpu-prof DIR] [--gateway-log FILE] [--warmup-calls 400]
 *                       [--server-flags '--max-semi-space-size=16 …' ('' for Node's defaults)]  [--baseline | --baseline-only]
 *
 * One gateway process started as `npm start` starts it (its V8 flags, the CLI, in-memory leases,
 * default log level), pinned with taskset to core 0 when the machine has two or more, sipp on core 1;
 * its upstreams are the local protocol-compatible servers, run in this harness process (not pinned:
 * on a shared machine one core is not enough for them and sipp), so that their CPU (TLS, TTS
 * synthesis, the recogniser) is not counted as the gateway's. The pools' keepalive timeout is
 * 10 s here: a local upstream slowed by the machine's load must not look like a dead connection. Each call is what a
 * carrier sends (bench/calls-uac.xml): INVITE with a PCMU offer → edge filter, call manager, RTP port,
 * SDP answer, the agent's ASR lease and its greeting's TTS context from the warm pools → 200, ACK,
 * 0.6 s of caller audio (sipp rtp_stream, PT 0), hold --hold-ms, BYE → agent ended, leases back,
 * port freed. The pools are sized for the concurrent calls (rate × (hold + audio + 3 s)).
 *
 * --warmup-calls N: sipp first places N inbound calls at --rate that are not measured (the gateway
 * is then idle until they have ended): a run of a few hundred calls otherwise pays for V8 compiling
 * the call path (TurboFan on its worker threads, counted in the process's CPU), which a gateway that
 * has run for a minute no longer does. Default 400 (2 s at the default rate); 0 measures a cold gateway, as the figures before 2026-12-02 round five were.
 *
 * Reported: the calls per second achieved (successful calls over the placing window, wall clock,
 * noisy on a shared machine), failed calls, the gateway's CPU time per completed call (the honest
 * capacity figure under load: cps_per_core = 1000 / cpu_ms_per_call), the CPU it used as a fraction
 * of one core, and what it still holds afterwards (leases, RTP ports: leaked_leases must be 0).
 * Outbound: the gateway dials a sipp UAS (bench/calls-uas.xml, on core 1; the trunk's proxy, no
 * registrar) through POST /api/calls at the same rate; the callee answers PCMU, sends the same
 * 0.6 s, holds --hold-ms and hangs up. Measured the same way (the POSTs' HTTP is the gateway's CPU
 * too); the table's second row and cps_outbound. Inbound runs first, then outbound, one gateway.
 *
 * --baseline: then, with the gateway stopped, the same warm-up and inbound calls into a bare Node
 * program (bench/support/calls-bare.ts: same V8 flags, same core, same local upstreams) that does
 * only the call's I/O: its CPU per call is the floor of a Node gateway with this call shape, and
 * `gateway_over_baseline` says how much of the gateway's cost is above it. What it skips is printed.
 * --baseline-only: the baseline alone (no gateway), for rates the gateway cannot take here.
 */
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { canPin, cpuMs, loadAverage, peakRssMb, startBare, startGateway, startUpstreams, type BareStats, type BenchGateway, type HeldNow } from './support/calls-gateway.js';
import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { answerCalls, placeCalls, writeCallerAudio, writeScenario, type SippResult } from './support/calls-sipp.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const arg = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const rate = Number(arg('--rate', '200'));
const calls = Number(arg('--calls', '2000'));
const holdMs = Number(arg('--hold-ms', '500'));
const logLevel = arg('--log-level', 'info');
const logFile = args.includes('--gateway-log') ? arg('--gateway-log', 'gateway.log') : undefined;
// '' for Node's defaults; default: npm start's flags.
const nodeFlags = args.includes('--server-flags') ? arg('--server-flags', '').split(/\s+/).filter(Boolean) : undefined;
const warmupCalls = Number(arg('--warmup-calls', '400'));
const withBaseline = args.includes('--baseline');
const baselineOnly = args.includes('--baseline-only');
const cpuProfDir = args.includes('--cpu-prof') ? arg('--cpu-prof', 'cpu-prof') : undefined;
if (!(rate > 0 && rate <= 2000) || !(calls > 0 && calls <= 100_000) || !(holdMs >= 0 && holdMs <= 60_000) || !(warmupCalls >= 0 && warmupCalls <= 100_000)) {
  process.stderr.write('bench:calls: --rate 1–2000, --calls 1–100000, --hold-ms 0–60000, --warmup-calls 0–100000\n');
  process.exit(64);
}
const AUDIO_S = 0.6;
const pinned = !args.includes('--no-pin') && availableParallelism() >= 2 && canPin();
// A call holds its ASR socket for its length; the socket is back in the pool at release (it no longer
// waits for the Finalize answer), but the pools still cover rate × (length + 3 s) so that runs stay
// comparable with the earlier figures.
const concurrency = Math.ceil(rate * (holdMs / 1000 + AUDIO_S + 3));

interface ModeResult {
  cps: number | null;
  reason?: string;
  placed: number;
  successful: number;
  failed: number;
  wall_s: number;
  cpu_ms: number;
  cpu_core_fraction: number;
  cpu_ms_per_call: number | null;
  cps_per_core: number | null;
  held_after: HeldNow;
  /** The local upstreams' process (this one): if it is starved, calls fail for reasons not the gateway's. */
  harness_cpu_core_fraction: number;
  /** Upstream connections opened, replaced, keepalives failed and acquisitions timed out during the run. */
  pools: Record<string, { opens: number; replacements: number; keepaliveFailures: number; exhausted: number }>;
  ended: Record<string, number>;
}

async function settled(gw: BenchGateway): Promise<HeldNow> {
  const deadline = Date.now() + 15_000;
  let v = await gw.held();
  while ((v.active > 0 || v.held.leases > 0 || v.held.rtpPorts > 0) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    v = await gw.held();
  }
  return v.held;
}

/** Runs one mode (sipp placing or answering the calls) and measures the gateway around it. */
async function measure(gw: BenchGateway, run: () => Promise<SippResult>): Promise<ModeResult> {
  const before = await gw.held();
  const pools0 = await gw.pools();
  const cpu0 = cpuMs(gw.pid);
  const harness0 = process.cpuUsage();
  const r = await run();
  const cpu = cpuMs(gw.pid) - cpu0;
  const h = process.cpuUsage(harness0);
  const harnessFraction = (h.user + h.system) / 1000 / r.wallMs;
  const held = await settled(gw);
  const after = await gw.held();
  const pools1 = await gw.pools();
  const pools: ModeResult['pools'] = {};
  for (const [k, v] of Object.entries(pools1)) {
    const b = pools0[k] ?? { opens: 0, replacements: 0, keepaliveFailures: 0, exhausted: 0 };
    pools[k] = { opens: v.opens - b.opens, replacements: v.replacements - b.replacements, keepaliveFailures: v.keepaliveFailures - b.keepaliveFailures, exhausted: v.exhausted - b.exhausted };
  }
  const ended: Record<string, number> = {};
  for (const [k, n] of Object.entries(after.totals.ended)) ended[k] = n - (before.totals.ended[k] ?? 0);
  if (r.code !== 0) process.stderr.write(`sipp: ${r.out.slice(-6000, -2000)}\n`);
  const wall = r.wallMs / 1000;
  // Calls were placed over the run less the last call's length (its hold and audio).
  const window = Math.max(0.001, wall - holdMs / 1000 - AUDIO_S);
  const done = r.successful;
  return {
    cps: r.failed === 0 && done === calls ? Math.round((done / window) * 10) / 10 : null,
    ...(r.failed !== 0 || done !== calls ? { reason: `${r.failed} failed, ${done}/${calls} successful (sipp exit ${r.code})` } : {}),
    placed: calls, successful: done, failed: r.failed || calls - done, wall_s: Math.round(wall * 100) / 100,
    cpu_ms: Math.round(cpu), cpu_core_fraction: Math.round((cpu / r.wallMs) * 1000) / 1000,
    cpu_ms_per_call: done ? Math.round((cpu / done) * 1000) / 1000 : null,
    cps_per_core: done && cpu ? Math.round(1000 / (cpu / done)) : null,
    held_after: held, pools, ended, harness_cpu_core_fraction: Math.round(harnessFraction * 1000) / 1000,
  };
}

/** sipp's UAC calls into the gateway. */
function inbound(gw: BenchGateway, dir: string): Promise<ModeResult> {
  const scenario = writeScenario(dir, writeCallerAudio(dir, AUDIO_S));
  return measure(gw, () => placeCalls(gw.sip, { scenario, rate, calls, holdMs, cpus: pinned ? '1' : undefined }));
}

/**
 * The gateway dials a sipp UAS (on cpu 1, the trunk's proxy) `calls` times at `rate` per second
 * through POST /api/calls, one request per call paced by this process; the callee answers, sends
 * its audio, holds and hangs up. A call counts as successful when sipp's scenario ran to its end.
 */
function outbound(gw: BenchGateway, dir: string): Promise<ModeResult> {
  const scenario = writeScenario(dir, writeCallerAudio(dir, AUDIO_S), 'uas');
  return measure(gw, async () => {
    const uas = answerCalls(calleePort, { scenario, rate, calls, holdMs, cpus: pinned ? '1' : undefined });
    await new Promise((r) => setTimeout(r, 300)); // sipp binds its port before it reads the scenario's first message
    const t0 = performance.now();
    const posts: Array<Promise<number>> = [];
    for (let i = 0; i < calls; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      posts.push(fetch(`${gw.url}/api/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: `+1555${String(i).padStart(7, '0')}`, trunk: 'bench' }) })
        .then(async (res) => { await res.arrayBuffer(); return res.status; }, () => 0));
    }
    const refused = (await Promise.all(posts)).filter((st) => st !== 201).length;
    // Every call was refused: sipp would wait for INVITEs that never come.
    if (refused === calls) uas.kill();
    const r = await uas.done;
    return { ...r, failed: Math.max(r.failed, refused) };
  });
}

const SKIPPED = ['SIP parsing beyond the headers echoed', 'the SIP transaction layer and its retransmission timers', 'the edge filter and rate limits',
  'leases and pools (fixed sockets, no acquisition, no replacement)', 'the agent and its turn', 'the jitter buffer', 'metrics', 'logging', 'analytics', 'the HTTP API'];

interface BaselineResult {
  successful: number; failed: number; wall_s: number; cpu_ms: number; cpu_core_fraction: number;
  cpu_ms_per_call: number | null; cps_per_core: number | null; idle_cpu_core_fraction: number; warmup: { calls: number; successful: number; failed: number } | 0;
  /** What one call did in the baseline: datagrams, WebSocket frames and messages (the I/O it is the floor of). */
  per_call: Record<string, number>;
  skipped: string[];
}

/** The bare baseline: the gateway stopped, the same warm-up and inbound calls into calls-bare.ts on the gateway's core. */
async function baseline(): Promise<BaselineResult> {
  const greeting = /greeting: "([^"]*)"/.exec(readFileSync(new URL('../config/default.yaml', import.meta.url), 'utf8'))?.[1] ?? '';
  const bare = await startBare(up, { concurrency, dir, cpus: pinned ? '0' : undefined, greeting, ...(nodeFlags && { nodeFlags }) });
  const idle = async (): Promise<BareStats> => {
    const until = Date.now() + 15_000;
    let st = await bare.stats();
    while (st.active > 0 && Date.now() < until) { await new Promise((r) => setTimeout(r, 250)); st = await bare.stats(); }
    return st;
  };
  try {
    // Its one 20 ms pacing timer and the ASR KeepAlives cost it this much with no call.
    const idle0 = cpuMs(bare.pid);
    await new Promise((r) => setTimeout(r, 5000));
    const idleFraction = (cpuMs(bare.pid) - idle0) / 5000;
    const scenario = writeScenario(dir, writeCallerAudio(dir, AUDIO_S));
    const cpus = pinned ? '1' : undefined;
    let w: BaselineResult['warmup'] = 0;
    if (warmupCalls > 0) {
      const r = await placeCalls(bare.sip, { scenario, rate, calls: warmupCalls, holdMs, cpus });
      w = { calls: warmupCalls, successful: r.successful, failed: r.failed };
    }
    const s0 = await idle();
    const cpu0 = cpuMs(bare.pid);
    const r = await placeCalls(bare.sip, { scenario, rate, calls, holdMs, cpus });
    const cpu = cpuMs(bare.pid) - cpu0;
    const s1 = await idle();
    if (r.code !== 0) process.stderr.write(`sipp (baseline): ${r.out.slice(-6000, -2000)}\n`);
    const n = s1.ended - s0.ended;
    const per = (k: keyof BareStats) => (n ? Math.round(((s1[k] - s0[k]) / n) * 10) / 10 : 0);
    return {
      successful: r.successful, failed: r.failed || calls - r.successful, wall_s: Math.round(r.wallMs / 10) / 100,
      cpu_ms: Math.round(cpu), cpu_core_fraction: Math.round((cpu / r.wallMs) * 1000) / 1000,
      cpu_ms_per_call: r.successful ? Math.round((cpu / r.successful) * 1000) / 1000 : null,
      cps_per_core: r.successful && cpu ? Math.round(1000 / (cpu / r.successful)) : null, warmup: w,
      idle_cpu_core_fraction: Math.round(idleFraction * 1000) / 1000,
      per_call: { sip_in: per('sipIn'), sip_out: per('sipOut'), rtp_in: per('rtpIn'), rtp_out: per('rtpOut'), asr_frames_out: per('asrFrames'), tts_messages_in: per('ttsMessages') },
      skipped: SKIPPED,
    };
  } finally {
    await bare.stop();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'wl-bench-calls-'));
if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
const up = await startUpstreams(concurrency);
let gw: BenchGateway | undefined;
let result: ModeResult | undefined;
let outResult: ModeResult | undefined;
let warmup: { calls: number; successful: number; failed: number } | undefined;
// The outbound mode's callee: a port chosen now, so the gateway's trunk can name it. Below the
// kernel's ephemeral range (32768–60999) and the gateway's RTP ports (30000+): with --baseline the
// port waits minutes for sipp, and an ephemeral one was taken meanwhile (sipp: errno 98).
const calleePort = await freeUdpPort(20_000, 29_999);
function freeUdpPort(min: number, max: number, tries = 50): Promise<number> {
  const port = min + Math.floor(Math.random() * (max - min + 1));
  return new Promise<number>((resolve, reject) => {
    const sock = createSocket('udp4');
    sock.once('error', () => { sock.close(); tries > 1 ? freeUdpPort(min, max, tries - 1).then(resolve, reject) : reject(new Error(`no free UDP port in ${min}–${max}`)); });
    sock.bind(port, '127.0.0.1', () => sock.close(() => resolve(port)));
  });
}
/** A trunk straight to the sipp callee; its registrar is the discard port (nothing answers: nothing registers). */
function outboundEnv(): Record<string, string> {
  return {
    WARMLINE_REGISTRATIONS: '[{id: bench, user: bench, domain: 127.0.0.1, registrar: {host: 127.0.0.1, port: 9}}]',
    WARMLINE_OUTBOUND__TRUNKS: `[{id: bench, maxConcurrent: 100000, callsPerSecond: 2000, proxy: {host: 127.0.0.1, port: ${calleePort}}}]`,
  };
}
const load0 = loadAverage();
try {
  // The baseline runs before the gateway starts and after it stops: load that drifts during the run
  // then shows as a difference between the two, not as a false ratio.
  const baseBefore = withBaseline || baselineOnly ? await baseline() : undefined;
  if (baselineOnly) {
    // The floor alone at a rate the gateway cannot take on this machine (where it would fail calls).
    const b = baseBefore!;
    const o = { bench: 'calls', mode: 'baseline-only', rate, calls, hold_ms: holdMs, warmup_calls: b.warmup, baseline_cpu_ms_per_call: b.cpu_ms_per_call, baseline: b, loadavg_before: load0, loadavg_after: loadAverage() };
    process.stdout.write(`bench:calls --baseline-only  ${calls} calls at ${rate}/s into the bare baseline: ${b.failed} failed, ${b.cpu_ms_per_call} ms CPU per call (${b.cps_per_core} calls/s per core), core fraction ${b.cpu_core_fraction}; per call ${JSON.stringify(b.per_call)}; load average ${o.loadavg_before} → ${o.loadavg_after}\n`);
    if (json) process.stdout.write(`${JSON.stringify(o)}\n`);
    await up.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(b.failed === 0 ? 0 : 1);
  }
  gw = await startGateway(up, { concurrency, dir, cpus: pinned ? '0' : undefined, logLevel, cpuProfDir, ...(logFile && { logFile }), ...(nodeFlags && { nodeFlags }), env: outboundEnv() });
  // What the gateway spends with no call (pool keepalives, timers, analytics snapshots): at a low
  // rate it is a large part of the CPU per call, so the figure net of it is given too.
  const idle0 = cpuMs(gw.pid);
  await new Promise((r) => setTimeout(r, 5000));
  const idleFraction = (cpuMs(gw.pid) - idle0) / 5000;
  if (warmupCalls > 0) {
    const w = await placeCalls(gw.sip, { scenario: writeScenario(dir, writeCallerAudio(dir, AUDIO_S)), rate, calls: warmupCalls, holdMs, cpus: pinned ? '1' : undefined });
    await settled(gw);
    warmup = { calls: warmupCalls, successful: w.successful, failed: w.failed };
  }
  result = await inbound(gw, dir);
  outResult = await outbound(gw, dir);
  // Read now: with --baseline the gateway stops before the output is put together.
  const gatewayPeakRssMb = peakRssMb(gw.pid);
  let base: BaselineResult | undefined;
  let baseAfter: BaselineResult | undefined;
  if (baseBefore) {
    // The gateway leaves the core (and the upstreams' sockets) to the baseline.
    await gw.stop();
    baseAfter = await baseline();
    // The figure is both phases' CPU over both phases' calls.
    const n = baseBefore.successful + baseAfter.successful;
    const cpu = baseBefore.cpu_ms + baseAfter.cpu_ms;
    base = { ...baseAfter, cpu_ms_per_call: n ? Math.round((cpu / n) * 1000) / 1000 : null, cps_per_core: n && cpu ? Math.round(1000 / (cpu / n)) : null, failed: baseBefore.failed + baseAfter.failed };
  }
  const netMsPerCall = result.successful ? Math.max(0, (result.cpu_ms - idleFraction * result.wall_s * 1000) / result.successful) : null;
  const load1 = loadAverage();
  const leaked = Math.max(result.held_after.leases, outResult.held_after.leases);
  const out = {
    bench: 'calls', rate, calls, hold_ms: holdMs, caller_audio_s: AUDIO_S, concurrency_sized_for: concurrency,
    pinned: pinned ? 'gateway on cpu 0, sipp on cpu 1 (taskset); the local upstreams (this process) not pinned' : 'not pinned',
    log_level: logLevel, node_flags: nodeFlags ?? 'npm start', warmup_calls: warmup ?? 0,
    cps_inbound: result.cps, ...(result.reason && { cps_inbound_reason: result.reason }),
    cps_outbound: outResult.cps, ...(outResult.reason && { cps_outbound_reason: outResult.reason }),
    failed_calls: result.failed + outResult.failed,
    cpu_core_fraction: result.cpu_core_fraction,
    cpu_ms_per_call: result.cpu_ms_per_call,
    cps_per_core: result.cps_per_core,
    cpu_ms_per_call_net_of_idle: netMsPerCall === null ? null : Math.round(netMsPerCall * 1000) / 1000,
    cps_per_core_net_of_idle: netMsPerCall ? Math.round(1000 / netMsPerCall) : null,
    harness_cpu_core_fraction: result.harness_cpu_core_fraction,
    idle_cpu_core_fraction: Math.round(idleFraction * 1000) / 1000,
    leaked_leases: leaked,
    held_after: result.held_after,
    ended: result.ended,
    upstream_connections_during_run: result.pools,
    outbound: outResult,
    ...(base && {
      baseline_cpu_ms_per_call: base.cpu_ms_per_call,
      gateway_over_baseline: base.cpu_ms_per_call && result.cpu_ms_per_call ? Math.round((result.cpu_ms_per_call / base.cpu_ms_per_call) * 100) / 100 : null,
      gateway_share_above_baseline: base.cpu_ms_per_call && result.cpu_ms_per_call ? Math.round((1 - base.cpu_ms_per_call / result.cpu_ms_per_call) * 1000) / 1000 : null,
      baseline_cpu_ms_per_call_before_after: [baseBefore?.cpu_ms_per_call ?? null, baseAfter?.cpu_ms_per_call ?? null],
      baseline_before: baseBefore, baseline_after: baseAfter,
    }),
    wall_s: result.wall_s,
    // Its pools hold rate × (hold + audio + 3 s) × 1.25 warm ASR sockets (TLS), most of this.
    gateway_peak_rss_mb: gatewayPeakRssMb,
    loadavg_before: load0, loadavg_after: load1,
  };
  process.stdout.write(`bench:calls  ${calls} calls at ${rate}/s, hold ${holdMs} ms + ${AUDIO_S} s caller audio; pools sized for ${concurrency} concurrent calls; ${out.pinned}; log ${logLevel}\n`);
  process.stdout.write('mode       cps (wall)  failed  CPU ms/call  cps/core (CPU)  core fraction  leases held after  RTP ports held after\n');
  const row = (name: string, cps: number | null, r: ModeResult | undefined) => process.stdout.write(
    `${name.padEnd(9)}  ${String(cps ?? '—').padStart(10)}  ${String(r?.failed ?? '—').padStart(6)}  ${String(r?.cpu_ms_per_call ?? '—').padStart(11)}  ${String(r?.cps_per_core ?? '—').padStart(14)}  ${String(r?.cpu_core_fraction ?? '—').padStart(13)}  ${String(r?.held_after.leases ?? '—').padStart(17)}  ${String(r?.held_after.rtpPorts ?? '—').padStart(20)}\n`);
  row('inbound', result.cps, result);
  row('outbound', outResult.cps, outResult);
  if (base) {
    process.stdout.write(`baseline: before the gateway ${baseBefore?.cpu_ms_per_call} ms/call, after it ${baseAfter?.cpu_ms_per_call} ms/call (${baseBefore?.failed} / ${baseAfter?.failed} failed)\n`);
    process.stdout.write(`${'baseline'.padEnd(9)}  ${'—'.padStart(10)}  ${String(base.failed).padStart(6)}  ${String(base.cpu_ms_per_call ?? '—').padStart(11)}  ${String(base.cps_per_core ?? '—').padStart(14)}  ${String(base.cpu_core_fraction).padStart(13)}\n`);
    process.stdout.write(`baseline (bare Node, inbound calls, same flags and core): gateway/baseline ${out.gateway_over_baseline}, share of the gateway's CPU above the floor ${out.gateway_share_above_baseline}; per call ${JSON.stringify(base.per_call)}; skips: ${base.skipped.join('; ')}\n`);
  }
  process.stdout.write(`ended (inbound): ${JSON.stringify(result.ended)}\nended (outbound): ${JSON.stringify(outResult.ended)}\nupstream connections during the run: ${JSON.stringify(result.pools)}\nidle gateway CPU ${out.idle_cpu_core_fraction} core (net of it: ${out.cpu_ms_per_call_net_of_idle} ms/call, ${out.cps_per_core_net_of_idle} calls/s per core), local upstreams (harness) ${out.harness_cpu_core_fraction} core during the run, gateway peak RSS ${out.gateway_peak_rss_mb} MB,  load average ${load0} → ${load1}\n`);
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exitCode = result.failed === 0 && outResult.failed === 0 && (base?.failed ?? 0) === 0 && leaked === 0 && result.held_after.rtpPorts === 0 && outResult.held_after.rtpPorts === 0 ? 0 : 1;
} finally {
  await gw?.stop();
  await up.close();
  rmSync(dir, { recursive: true, force: true });
}
