/**
 * bench:turn — the first turn of a call, warm pools against the patterns others use,
 * end to end: sipp places each call, a real RTP peer speaks and listens, the gateway
 * runs its real SIP/RTP/agent path, and the upstreams sit behind an emulated 40 ms RTT.
 *
 *   npm run bench:turn [-- --json] [--emulation auto|netns|proxy] [--one-way-ms 20]
 *                      [--calls 5] [--gap-ms 1000]
 *
 * Three modes, side by side in one run, on the same gateway code:
 * - warm: Warmline's pools (floor opened at boot, keepalives, replacement, sizing);
 * - lazy: a connection opened per call on first use and kept for the call (jambonz);
 * - prewarm-one: one connection per upstream opened at start, reused, with no
 *   keepalive, health check, replacement or sizing (LiveKit Agents' ConnectionPool).
 *
 * Each call: the caller says one sentence, waits for the whole reply, says another.
 * rtt_ms: the link's round trip as measured during the run (HTTP/2 PINGs to an upstream), and
 * saving_vs_lazy_rtts = saving_vs_lazy_ms / rtt_ms, the saving in this link's round trips.
 * first_turn_ms / later_turn_ms: median, over the calls, of the time from the end of the
 * caller's speech (the last voiced frame the peer sent) to the first RTP packet of the
 * reply at the peer. The modes take calls in turn (round robin, `--gap-ms` between calls),
 * so one mode's consecutive calls are minutes-equivalent apart: longer than the providers'
 * idle timeouts (scaled down: ASR 5 s instead of Deepgram's 10 s, TTS inactivity 5 s
 * instead of ElevenLabs' default 20 s), because real calls arrive after quiet periods.
 * The agent has no greeting, so the first reply is the first use of TTS and LLM.
 *
 * Outbound: the warm gateway also places calls (`gateway.dialer.dial()`, the path of POST
 * /api/calls) to a sipp callee whose media is the same kind of RTP peer; the callee then speaks
 * first. first_turn_outbound_ms beside first_turn_ms.warm, in the same run, shows whether an
 * outbound call's first turn is as warm as an inbound one (its upstreams are leased at the
 * answer, from the same pools); in_turn_opens.outbound must be 0.
 *
 * Two regions (`--regions`, a run of its own): two sets of local upstreams, each behind its own TCP
 * delay proxy (us-east `--near-one-way-ms`, default 5; eu-west `--one-way-ms`), one warm gateway in
 * us-east. Calls to one DID take the near region (first_turn_near_ms); calls to a DID pinned to
 * eu-west take the far region's pools, warm at their standby floor (first_turn_far_ms), side by side
 * in turns; then the near upstreams are paused and their connections dropped, and calls to the first
 * DID fail over to eu-west (first_turn_after_failover_ms). in_turn_opens counts leases that waited for
 * a connection in each case: 0 when the far pool was warm too.
 *
 * Emulation: netns-tap-forwarder (root, /dev/net/tun): the upstreams run in namespace B,
 * the gateway, sipp and the RTP peer in namespace A, every round trip real. Fallback
 * tcp-delay-proxy: a TCP connect to the proxy is instant, so a cold open costs one RTT less.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect as http2Connect } from 'node:http2';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { loadConfig, type DeepPartial, type WarmlineConfig } from '../src/config/index.js';
import { startGateway, type Gateway } from '../src/boot/gateway.js';
import { createLogger } from '../src/log.js';
import { Synthesizer, startLocalUpstreams } from '../src/local/index.js';
import type { AgentUpstreams, TurnRecord } from '../src/agent/index.js';
import type { PooledConnection } from '../src/pools/index.js';
import { createDelayedLink, delayedLinkUnavailableReason, type DelayedLink } from './support/delayed-link.js';
import { viaDelayProxy, type DelayProxy } from './support/delay-proxy.js';
import { readJsonLine, stopChild, waitExit } from './support/child.js';
import { NaiveSource } from './support/naive-source.js';
import { RtpPeer } from '../test/support/rtp-peer.js';
import { sipp } from '../test/support/sipp.js';
import { until, sleep } from '../test/support/wait.js';
import { freeUdpPort } from '../test/support/kamailio.js';

const SELF = fileURLToPath(import.meta.url);
const SCENARIO = fileURLToPath(new URL('../test/integration/calls/scenarios/call-wait-bye.xml', import.meta.url));
const CALLEE = fileURLToPath(new URL('../test/integration/outbound/scenarios/uas-bench.xml', import.meta.url));
const KEY = 'local-dev-key';
const MODES = ['warm', 'lazy', 'prewarm-one'] as const;
type Mode = (typeof MODES)[number];
const IDLE_TIMEOUT_MS = 5000;

interface Args {
  role: 'main' | 'calls';
  json: boolean;
  emulation: 'auto' | 'netns' | 'proxy';
  oneWayMs: number;
  calls: number;
  gapMs: number;
  upstreams?: string;
  emulationLabel?: string;
  regions: boolean;
  nearOneWayMs: number;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { role: 'main', json: false, emulation: 'auto', oneWayMs: 20, calls: 5, gapMs: 1000, regions: false, nearOneWayMs: 5 };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${f} needs a value`);
      return x;
    };
    const n = (): number => {
      const x = Number(v());
      if (!Number.isFinite(x) || x < 0) throw new Error(`${f}: expected a non-negative number`);
      return x;
    };
    switch (f) {
      case '--json': a.json = true; break;
      case '--role': a.role = v() as Args['role']; break;
      case '--emulation': {
        const e = v();
        if (e !== 'auto' && e !== 'netns' && e !== 'proxy') throw new Error(`--emulation ${e}: expected auto|netns|proxy`);
        a.emulation = e;
        break;
      }
      case '--one-way-ms': a.oneWayMs = n(); break;
      case '--calls': a.calls = Math.max(1, Math.floor(n())); break;
      case '--gap-ms': a.gapMs = n(); break;
      case '--upstreams': a.upstreams = v(); break;
      case '--emulation-label': a.emulationLabel = v(); break;
      case '--regions': a.regions = true; break;
      case '--near-one-way-ms': a.nearOneWayMs = n(); break;
      default: throw new Error(`unknown argument ${f}`);
    }
  }
  return a;
}

interface UpstreamUrls { asr: string; tts: string; llm: string; crm: string; caFile: string }

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

interface ModeResult {
  first: number[];
  later: number[];
  gatewayFirst: number[];
  gatewayLater: number[];
  inTurnOpens: number;
  failedCalls: number;
}

/** The warm gateway's outbound trunk: straight to the sipp callee (no registrar answers: nothing registers). */
function outboundConfig(calleePort: number): DeepPartial<WarmlineConfig> {
  return {
    registrations: [{ id: 'bench', user: 'bench', domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: 9 } }],
    outbound: { ringTimeoutS: 30, trunks: [{ id: 'bench', maxConcurrent: 10, callsPerSecond: 10, proxy: { host: '127.0.0.1', port: calleePort } }] },
  } as DeepPartial<WarmlineConfig>;
}

function gatewayConfig(urls: UpstreamUrls, mode: Mode): DeepPartial<WarmlineConfig> {
  const cold = mode !== 'warm';
  // The baselines draw nothing from the gateway's pools: their floors are 0.
  const pool = (p: Partial<WarmlineConfig['pools']['asr']>) => (cold ? { ...p, min: 0 } : p);
  return {
    server: { httpPort: 0 },
    log: { level: 'warn' },
    sip: { port: 0 },
    media: { portMin: 42000, portMax: 42999, rtpTimeoutMs: 0 },
    upstreams: {
      asr: { baseUrl: urls.asr, apiKey: KEY },
      tts: { baseUrl: urls.tts, apiKey: KEY, inactivityTimeoutS: IDLE_TIMEOUT_MS / 1000 },
      llm: { baseUrl: urls.llm, apiKey: KEY },
      crm: { baseUrl: urls.crm, apiKey: KEY },
    },
    // Keepalives below the scaled-down idle timeouts, as the defaults are below the real ones.
    pools: { asr: pool({ keepaliveMs: 2000 }), tts: pool({ keepaliveMs: 2000 }), llm: pool({}), crm: pool({}) },
    agents: { bench: { greeting: '', systemPrompt: 'You are a concise phone receptionist.', voiceId: '', language: '', tools: [] } },
    routes: [{ did: '*', agent: 'bench' }],
  };
}

/** The naive baselines' connection sources, built from the gateway's own factories. */
class Baseline {
  readonly #shared: NaiveSource<PooledConnection>[] = [];
  #perCall: NaiveSource<PooledConnection>[] = [];
  opened = 0;

  constructor(private readonly mode: Exclude<Mode, 'warm'>, private readonly g: () => Gateway) {}

  async prewarm(): Promise<void> {
    if (this.mode !== 'prewarm-one') return;
    for (const s of this.#sharedSources()) await s.prewarm(1);
  }

  #sources?: AgentUpstreams;
  #sharedSources(): NaiveSource<PooledConnection>[] {
    this.#sources ??= this.#make(this.#shared);
    return this.#shared;
  }

  #make(into: NaiveSource<PooledConnection>[]): AgentUpstreams {
    const f = this.g().factories;
    const cfg = this.g().config.upstreams;
    const up: AgentUpstreams = {
      asr: new NaiveSource(f.asr(cfg.asr.language)),
      tts: new NaiveSource(f.tts(cfg.tts.voiceId)),
      llm: new NaiveSource(f.llm()),
      crm: new NaiveSource(f.crm()),
    };
    into.push(...(Object.values(up) as NaiveSource<PooledConnection>[]));
    return up;
  }

  /** What a call leases from: the shared sources (prewarm-one) or fresh ones (lazy). */
  upstreams(): AgentUpstreams {
    if (this.mode === 'prewarm-one') {
      this.#sharedSources();
      return this.#sources!;
    }
    return this.#make(this.#perCall);
  }

  async endCall(): Promise<void> {
    const done = this.#perCall;
    this.#perCall = [];
    this.opened += done.reduce((n, s) => n + s.opened, 0);
    await Promise.all(done.map((s) => s.close()));
  }

  async close(): Promise<void> {
    await this.endCall();
    this.opened += this.#shared.reduce((n, s) => n + s.opened, 0);
    await Promise.all(this.#shared.map((s) => s.close()));
  }
}

/** Sends silence until told to stop, so the caller's line is never quiet (as a phone's is not). */
function keepLineOpen(peer: RtpPeer): { stop(): Promise<void> } {
  let on = true;
  const loop = (async () => {
    while (on) await peer.send(Buffer.alloc(800, 0xff));
  })();
  return { stop: async () => { on = false; await loop; } };
}

/** One caller turn: speak, then measure until the reply's first packet; wait for the whole reply. */
async function turn(g: Gateway, peer: RtpPeer, speech: Buffer, turnsBefore: number): Promise<{ ms: number; record: TurnRecord }> {
  await peer.send(speech);
  const speechEnd = peer.lastVoicedSentAt + 20;
  const line = keepLineOpen(peer);
  try {
    await until(() => peer.received.some((p) => p.at > speechEnd), 'the first RTP packet of the reply', 30_000);
    const first = peer.received.find((p) => p.at > speechEnd)!;
    await until(() => (g.calls.view().active[0]?.turns.length ?? 0) > turnsBefore, 'the reply to finish', 60_000);
    const record = g.calls.view().active[0]!.turns[turnsBefore]!;
    return { ms: first.at - speechEnd, record };
  } finally {
    await line.stop();
  }
}

interface ModeRun {
  mode: Mode;
  gateway: Gateway;
  baseline: Baseline | undefined;
  result: ModeResult;
}

async function startMode(mode: Mode, index: number, urls: UpstreamUrls, calleePort: number): Promise<ModeRun> {
  let gateway: Gateway | undefined;
  const baseline = mode === 'warm' ? undefined : new Baseline(mode, () => gateway!);
  const overrides = { ...gatewayConfig(urls, mode), ...(mode === 'warm' && outboundConfig(calleePort)) };
  overrides.media = { ...overrides.media, portMin: 42000 + index * 1000, portMax: 42999 + index * 1000 };
  const config = loadConfig({ env: {}, overrides });
  gateway = await startGateway(config, {
    log: createLogger('warn'),
    registry: new Registry(),
    ...(baseline && { agentUpstreams: () => baseline.upstreams() }),
  });
  await gateway.whenReady();
  await baseline?.prewarm();
  return { mode, gateway, baseline, result: { first: [], later: [], gatewayFirst: [], gatewayLater: [], inTurnOpens: 0, failedCalls: 0 } };
}

/** One call on one mode's gateway: two caller turns, then we hang up. */
async function oneCall(m: ModeRun, speech: [Buffer, Buffer]): Promise<{ t1: { ms: number; record: TurnRecord }; t2: { ms: number; record: TurnRecord } } | undefined> {
  try {
    return await regionCall(m.gateway, '15550001000', speech);
  } finally {
    await m.baseline?.endCall();
  }
}

/** One outbound call from the warm gateway: the callee speaks first, twice; we hang up. */
async function oneOutboundCall(m: ModeRun, calleePort: number, speech: [Buffer, Buffer]): Promise<{ t1: { ms: number; record: TurnRecord }; t2: { ms: number; record: TurnRecord } }> {
  const g = m.gateway;
  const peer = await RtpPeer.bind();
  const callee = spawn('sipp', ['-sf', CALLEE, '-i', '127.0.0.1', '-p', String(calleePort), '-key', 'rtp_port', String(peer.port), '-m', '1', '-nostdin', '-timeout', '120s', '-timeout_error'], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => callee.on('exit', (code) => resolve(code)));
  try {
    // sipp binds its port before it reads the scenario's first message: give it a moment to exist.
    await sleep(300);
    const record = await g.dialer.dial({ to: '+15550002000', trunk: 'bench' });
    const call = await record.whenAnswered;
    if (!call) throw new Error(`outbound call not answered: ${JSON.stringify(record.view())}`);
    await until(() => g.calls.view().active[0]?.localPort !== undefined, 'outbound call media', 20_000);
    peer.target('127.0.0.1', g.calls.view().active[0]!.localPort!);
    await peer.send(Buffer.alloc(4000, 0xff));
    const t1 = await turn(g, peer, speech[0], 0);
    const t2 = await turn(g, peer, speech[1], 1);
    await record.hangup();
    const code = await exited;
    if (code !== 0) throw new Error(`the sipp callee exited ${code}`);
    return { t1, t2 };
  } catch (err) {
    callee.kill('SIGKILL');
    throw err;
  } finally {
    peer.close();
  }
}

/**
 * The link's round trip as the calls see it: HTTP/2 PINGs on one connection to an upstream (the
 * CRM), answered by the peer's HTTP/2 stack without reaching any handler, so nothing but the
 * link and the two event loops is in them. The connection is opened first; only PINGs are timed.
 */
async function measureRtt(url: string, caFile: string, pings = 10): Promise<number[]> {
  const session = http2Connect(url, { ca: readFileSync(caFile) });
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('connect', () => resolve());
      session.once('error', reject);
    });
    const out: number[] = [];
    for (let i = 0; i < pings; i++) {
      out.push(await new Promise<number>((resolve, reject) => {
        session.ping((err, ms) => (err ? reject(err) : resolve(ms)));
      }));
    }
    return out;
  } finally {
    session.destroy();
  }
}

async function runCalls(a: Args, urls: UpstreamUrls): Promise<number> {
  const log = (s: string) => { if (!a.json) process.stdout.write(`${s}\n`); else process.stderr.write(`${s}\n`); };
  const synth = new Synthesizer();
  const speech: [Buffer, Buffer] = [
    await synth.synthesize('Hello, I would like to book an appointment for tomorrow.'),
    await synth.synthesize('Is there anything free in the morning?'),
  ];
  const runs: ModeRun[] = [];
  const calleePort = await freeUdpPort();
  const outbound: ModeResult = { first: [], later: [], gatewayFirst: [], gatewayLater: [], inTurnOpens: 0, failedCalls: 0 };
  for (const [i, mode] of MODES.entries()) {
    runs.push(await startMode(mode, i, urls, calleePort));
    log(`${mode}: gateway up (sip ${runs.at(-1)!.gateway.sip.port})`);
  }
  const results = Object.fromEntries(runs.map((r) => [r.mode, r.result])) as Record<Mode, ModeResult>;
  // Before and after the calls, so a link that changed during the run shows in the spread.
  const rtts: number[] = [];
  try {
    rtts.push(...(await measureRtt(urls.crm, urls.caFile)));
    // One unmeasured call per mode: the process's code is JIT-compiled and the local TTS
    // has cached its phrases, as in a replica that has been up for a while.
    await oneOutboundCall(runs[0]!, calleePort, speech).then(
      (r) => log(`outbound    warm-up call: first ${round(r.t1.ms)} ms, later ${round(r.t2.ms)} ms (not counted)`),
      (err: unknown) => log(`outbound warm-up call failed: ${(err as Error).message}`),
    );
    for (const m of runs) {
      await oneCall(m, speech).then(
        (r) => log(`${m.mode.padEnd(11)} warm-up call: first ${round(r!.t1.ms)} ms, later ${round(r!.t2.ms)} ms (not counted)`),
        (err: unknown) => log(`${m.mode} warm-up call failed: ${(err as Error).message}`),
      );
    }
    // Round robin, so drift on this shared machine touches every mode alike. A mode's calls
    // are three calls apart: longer than the scaled idle timeouts.
    for (let c = 0; c < a.calls; c++) {
      for (const m of runs) {
        await sleep(a.gapMs);
        const r = m.result;
        try {
          const { t1, t2 } = (await oneCall(m, speech))!;
          r.first.push(t1.ms);
          r.later.push(t2.ms);
          for (const [t, into] of [[t1.record, r.gatewayFirst], [t2.record, r.gatewayLater]] as const) {
            const mark = t.marks.firstRtpOut;
            if (mark !== undefined) into.push(mark);
            r.inTurnOpens += t.connectionsOpened;
          }
          log(`${m.mode.padEnd(11)} call ${c + 1}/${a.calls}: first ${round(t1.ms)} ms, later ${round(t2.ms)} ms, opened in turns ${t1.record.connectionsOpened}+${t2.record.connectionsOpened}`);
        } catch (err) {
          r.failedCalls++;
          log(`${m.mode} call ${c + 1}/${a.calls} failed: ${(err as Error).message}`);
        }
      }
      // The same warm gateway, the call placed by us: in the same round as the inbound ones.
      await sleep(a.gapMs);
      try {
        const { t1, t2 } = await oneOutboundCall(runs[0]!, calleePort, speech);
        outbound.first.push(t1.ms);
        outbound.later.push(t2.ms);
        outbound.inTurnOpens += t1.record.connectionsOpened + t2.record.connectionsOpened;
        log(`${'outbound'.padEnd(11)} call ${c + 1}/${a.calls}: first ${round(t1.ms)} ms, later ${round(t2.ms)} ms, opened in turns ${t1.record.connectionsOpened}+${t2.record.connectionsOpened}`);
      } catch (err) {
        outbound.failedCalls++;
        log(`outbound call ${c + 1}/${a.calls} failed: ${(err as Error).message}`);
      }
    }
    rtts.push(...(await measureRtt(urls.crm, urls.caFile)));
  } finally {
    for (const m of runs) {
      await m.baseline?.close();
      await m.gateway.close();
    }
  }
  const rttMs = round(median(rtts), 2);

  const f = (m: Mode) => round(median(results[m].first));
  const l = (m: Mode) => round(median(results[m].later));
  const out = {
    bench: 'turn',
    emulation: a.emulationLabel ?? 'unknown',
    one_way_delay_ms: a.oneWayMs,
    calls_per_mode: a.calls,
    gap_ms: a.gapMs,
    first_turn_ms: { warm: f('warm'), lazy: f('lazy'), prewarm_one: f('prewarm-one') },
    later_turn_ms: { warm: l('warm'), lazy: l('lazy'), prewarm_one: l('prewarm-one') },
    gateway_first_turn_ms: Object.fromEntries(MODES.map((m) => [m.replace('-', '_'), round(median(results[m].gatewayFirst))])),
    gateway_later_turn_ms: Object.fromEntries(MODES.map((m) => [m.replace('-', '_'), round(median(results[m].gatewayLater))])),
    in_turn_opens: { ...Object.fromEntries(MODES.map((m) => [m.replace('-', '_'), results[m].inTurnOpens])), outbound: outbound.inTurnOpens },
    failed_calls: { ...Object.fromEntries(MODES.map((m) => [m.replace('-', '_'), results[m].failedCalls])), outbound: outbound.failedCalls },
    // The outbound first turn beside the inbound warm one, same gateway, same run. Goal: ratio ≈ 1.
    first_turn_outbound_ms: round(median(outbound.first)),
    later_turn_outbound_ms: round(median(outbound.later)),
    outbound_inbound_first_ratio: round(median(outbound.first) / f('warm'), 3),
    first_later_ratio_warm: round(f('warm') / l('warm'), 3),
    saving_vs_lazy_ms: round(f('lazy') - f('warm')),
    rtt_ms: rttMs,
    rtt_min_ms: round(Math.min(...rtts), 2),
    rtt_max_ms: round(Math.max(...rtts), 2),
    // The saving in round trips of this link: what a per-call client pays for a TTS WebSocket and
    // an HTTP/2 session before its first byte (TCP, TLS, upgrade / SETTINGS). Goal ≥ 5.
    saving_vs_lazy_rtts: round((f('lazy') - f('warm')) / rttMs, 2),
    saving_vs_prewarm_one_ms: round(f('prewarm-one') - f('warm')),
    in_turn_opens_warm: results.warm.inTurnOpens,
  };
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const table = [
    '',
    `bench:turn — ${out.emulation}, ${2 * a.oneWayMs} ms RTT to every upstream, ${a.calls} calls per mode, ${a.gapMs} ms between calls`,
    '',
    `${'mode'.padEnd(12)}${pad('first turn ms', 15)}${pad('later turn ms', 15)}${pad('first/later', 13)}${pad('opens in turns', 16)}${pad('failed', 8)}`,
    ...MODES.map((m) => `${m.padEnd(12)}${pad(f(m), 15)}${pad(l(m), 15)}${pad(round(f(m) / l(m), 3), 13)}${pad(results[m].inTurnOpens, 16)}${pad(results[m].failedCalls, 8)}`),
    `${'outbound'.padEnd(12)}${pad(out.first_turn_outbound_ms, 15)}${pad(out.later_turn_outbound_ms, 15)}${pad(round(out.first_turn_outbound_ms / out.later_turn_outbound_ms, 3), 13)}${pad(outbound.inTurnOpens, 16)}${pad(outbound.failedCalls, 8)}`,
    '',
    `first_turn_outbound_ms ${out.first_turn_outbound_ms} vs first_turn_ms.warm ${f('warm')}: ratio ${out.outbound_inbound_first_ratio} (outbound = the warm gateway dialling; goal ≈ 1, in_turn_opens 0)`,
    `first_later_ratio_warm ${out.first_later_ratio_warm} (goal ≤ 1.05)   saving_vs_lazy_ms ${out.saving_vs_lazy_ms}   in_turn_opens_warm ${out.in_turn_opens_warm} (goal 0)`,
    `rtt_ms ${out.rtt_ms} (HTTP/2 PING on the link, median of ${rtts.length}; min ${out.rtt_min_ms}, max ${out.rtt_max_ms})   saving_vs_lazy_rtts ${out.saving_vs_lazy_rtts} (goal ≥ 5)`,
    'turn = end of the caller\'s speech → first RTP packet of the reply, at the caller; median over calls',
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  if (a.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  return Object.values(results).some((r) => r.failedCalls > 0) || outbound.failedCalls > 0 ? 1 : 0;
}

const tsxArgs = (role: string, extra: readonly string[]): string[] => [process.execPath, '--import', 'tsx', SELF, '--role', role, ...extra];
const passThrough = (a: Args): string[] => [...(a.json ? ['--json'] : []), '--one-way-ms', String(a.oneWayMs), '--calls', String(a.calls), '--gap-ms', String(a.gapMs)];
const localArgs = (host: string): string[] => [
  process.execPath, '--import', 'tsx', fileURLToPath(new URL('../src/local/main.ts', import.meta.url)),
  '--host', host, '--api-key', KEY, '--asr-idle-timeout-ms', String(IDLE_TIMEOUT_MS), '--tts-inactivity-timeout-ms', String(IDLE_TIMEOUT_MS),
];

async function runNetns(a: Args): Promise<number> {
  let link: DelayedLink | undefined;
  let upstreams: ChildProcess | undefined;
  let calls: ChildProcess | undefined;
  try {
    link = await createDelayedLink({ oneWayDelayMs: a.oneWayMs, name: 'turn' });
    upstreams = link.spawn('B', localArgs(link.addrB), { stdio: ['ignore', 'pipe', 'inherit'] });
    const info = await readJsonLine<UpstreamUrls>(upstreams, 120_000);
    calls = link.spawn('A', tsxArgs('calls', [...passThrough(a), '--emulation-label', link.emulation, '--upstreams', JSON.stringify(info)]), {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, NODE_EXTRA_CA_CERTS: info.caFile },
    });
    return await waitExit(calls);
  } finally {
    await stopChild(calls);
    await stopChild(upstreams);
    await link?.close();
  }
}

async function runProxy(a: Args): Promise<number> {
  const up = await startLocalUpstreams({ host: '127.0.0.1', apiKey: KEY, asrIdleTimeoutMs: IDLE_TIMEOUT_MS, ttsInactivityTimeoutMs: IDLE_TIMEOUT_MS });
  const proxies: DelayProxy[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'wl-turn-'));
  let calls: ChildProcess | undefined;
  try {
    const via = (url: string): Promise<string> => viaDelayProxy(url, a.oneWayMs, proxies);
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, up.ca);
    const info: UpstreamUrls = { asr: await via(up.asr.url), tts: await via(up.tts.url), llm: await via(up.llm.url), crm: await via(up.crm.url), caFile };
    const [cmd, ...argv] = tsxArgs('calls', [...passThrough(a), '--emulation-label', 'tcp-delay-proxy', '--upstreams', JSON.stringify(info)]) as [string, ...string[]];
    calls = spawn(cmd, argv, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile } });
    return await waitExit(calls);
  } finally {
    await stopChild(calls);
    await Promise.all(proxies.map((p) => p.close()));
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One inbound call to `did`: two caller turns, then we hang up; the region its upstreams came from. */
async function regionCall(g: Gateway, did: string, speech: [Buffer, Buffer]): Promise<{ t1: { ms: number; record: TurnRecord }; t2: { ms: number; record: TurnRecord }; region: string | undefined }> {
  const peer = await RtpPeer.bind();
  const run = sipp(g.sip, ['-sf', SCENARIO, '-s', did, '-key', 'rtp_port', String(peer.port), '-m', '1'], 120);
  try {
    await until(() => g.calls.view().active[0]?.localPort !== undefined, 'call answered', 20_000);
    const call = g.calls.view().active[0]!;
    peer.target('127.0.0.1', call.localPort!);
    await peer.send(Buffer.alloc(4000, 0xff));
    const t1 = await turn(g, peer, speech[0], 0);
    const t2 = await turn(g, peer, speech[1], 1);
    g.calls.hangup(call.id);
    const done = await run.done;
    if (done.code !== 0) throw new Error(`sipp exited ${done.code}`);
    return { t1, t2, region: call.region };
  } catch (err) {
    run.child.kill('SIGKILL');
    throw err;
  } finally {
    peer.close();
  }
}

const NEAR_DID = '15550001000';
const FAR_DID = '25550001000';

/** The two-region run: near and far side by side, then the near region killed and calls failing over. */
async function runRegions(a: Args): Promise<number> {
  const log = (s: string) => { if (!a.json) process.stdout.write(`${s}\n`); else process.stderr.write(`${s}\n`); };
  const opts = { host: '127.0.0.1', apiKey: KEY, asrIdleTimeoutMs: IDLE_TIMEOUT_MS, ttsInactivityTimeoutMs: IDLE_TIMEOUT_MS };
  const [near, far] = await Promise.all([startLocalUpstreams(opts), startLocalUpstreams(opts)]);
  const proxies: DelayProxy[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'wl-turn-regions-'));
  let g: Gateway | undefined;
  const cases = { near: [] as number[], far: [] as number[], after_failover: [] as number[] };
  const opens = { near: 0, far: 0, after_failover: 0 };
  const failed = { near: 0, far: 0, after_failover: 0 };
  const wrong: string[] = [];
  const rtts: Record<string, number[]> = { near: [], far: [] };
  try {
    const region = async (name: string, u: typeof near, oneWayMs: number) => {
      const caFile = join(dir, `${name}.pem`);
      writeFileSync(caFile, u.ca);
      const via = (url: string) => viaDelayProxy(url, oneWayMs, proxies);
      return { name, asr: { baseUrl: await via(u.asr.url) }, tts: { baseUrl: await via(u.tts.url) }, llm: { baseUrl: await via(u.llm.url) }, crm: { baseUrl: await via(u.crm.url) }, caFile };
    };
    const regions = [await region('us-east', near, a.nearOneWayMs), await region('eu-west', far, a.oneWayMs)];
    const base = gatewayConfig({ asr: '', tts: '', llm: '', crm: '', caFile: '' }, 'warm');
    const config = loadConfig({ env: {}, overrides: {
      ...base, upstreams: { tts: { inactivityTimeoutS: IDLE_TIMEOUT_MS / 1000 } },
      region: 'us-east', regions,
      routes: [{ did: '2*', agent: 'bench', routing: { rule: 'pinned', regions: ['eu-west'] } }, { did: '*', agent: 'bench' }],
    } as DeepPartial<WarmlineConfig> });
    // error: the dead region's failed opens are expected here, one warning each would bury the table.
    g = await startGateway(config, { log: createLogger('error'), registry: new Registry() });
    await g.whenReady();
    const synth = new Synthesizer();
    const speech: [Buffer, Buffer] = [
      await synth.synthesize('Hello, I would like to book an appointment for tomorrow.'),
      await synth.synthesize('Is there anything free in the morning?'),
    ];
    for (const [k, r] of [['near', regions[0]!], ['far', regions[1]!]] as const) rtts[k]!.push(...(await measureRtt(r.crm.baseUrl, r.caFile)));
    const one = async (what: keyof typeof cases, did: string, expect: string, counted: boolean) => {
      try {
        const r = await regionCall(g!, did, speech);
        if (r.region !== expect) wrong.push(`${what}: served by ${r.region}, expected ${expect}`);
        log(`${what.padEnd(15)} ${counted ? 'call' : 'warm-up'}: first ${round(r.t1.ms)} ms, later ${round(r.t2.ms)} ms, region ${r.region}, opened in turns ${r.t1.record.connectionsOpened}+${r.t2.record.connectionsOpened}`);
        if (!counted) return;
        cases[what].push(r.t1.ms);
        opens[what] += r.t1.record.connectionsOpened + r.t2.record.connectionsOpened;
      } catch (err) {
        if (counted) failed[what]++;
        log(`${what} call failed: ${(err as Error).message}`);
      }
    };
    // Warm-up, not counted: JIT and the local TTS's phrase cache, as in a replica up for a while.
    await one('near', NEAR_DID, 'us-east', false);
    await one('far', FAR_DID, 'eu-west', false);
    for (let c = 0; c < a.calls; c++) {
      await sleep(a.gapMs);
      await one('near', NEAR_DID, 'us-east', true);
      await sleep(a.gapMs);
      await one('far', FAR_DID, 'eu-west', true);
    }
    // The near region dies: nothing listens, every open connection is cut.
    for (const s of [near.asr, near.tts, near.llm, near.crm]) {
      await s.pause();
      s.dropConnections();
    }
    await until(async () => /warmline_region_alive\{region="us-east"\} 0/.test(await g!.registry.metrics()), 'us-east seen dead', 30_000);
    for (let c = 0; c < a.calls; c++) {
      await sleep(a.gapMs);
      await one('after_failover', NEAR_DID, 'eu-west', true);
    }
  } finally {
    await g?.close();
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all([near.close(), far.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (k: keyof typeof cases) => round(median(cases[k]));
  const out = {
    bench: 'turn-regions',
    emulation: 'tcp-delay-proxy',
    near_one_way_delay_ms: a.nearOneWayMs,
    far_one_way_delay_ms: a.oneWayMs,
    calls_per_case: a.calls,
    first_turn_near_ms: f('near'),
    first_turn_far_ms: f('far'),
    first_turn_after_failover_ms: f('after_failover'),
    in_turn_opens: opens,
    failed_calls: failed,
    wrong_region: wrong.length,
    rtt_near_ms: round(median(rtts.near!), 2),
    rtt_far_ms: round(median(rtts.far!), 2),
    far_minus_near_ms: round(f('far') - f('near')),
    after_failover_minus_far_ms: round(f('after_failover') - f('far')),
  };
  const pad = (x: string | number, n: number) => String(x).padStart(n);
  const table = [
    '',
    `bench:turn --regions — tcp-delay-proxy, us-east (near) ${2 * a.nearOneWayMs} ms RTT, eu-west (far) ${2 * a.oneWayMs} ms RTT, ${a.calls} calls per case`,
    '',
    `${'case'.padEnd(16)}${pad('first turn ms', 15)}${pad('in_turn_opens', 15)}${pad('failed', 8)}`,
    `${'near'.padEnd(16)}${pad(out.first_turn_near_ms, 15)}${pad(opens.near, 15)}${pad(failed.near, 8)}`,
    `${'far'.padEnd(16)}${pad(out.first_turn_far_ms, 15)}${pad(opens.far, 15)}${pad(failed.far, 8)}`,
    `${'after failover'.padEnd(16)}${pad(out.first_turn_after_failover_ms, 15)}${pad(opens.after_failover, 15)}${pad(failed.after_failover, 8)}`,
    '',
    `first_turn_near_ms ${out.first_turn_near_ms}   first_turn_far_ms ${out.first_turn_far_ms}   first_turn_after_failover_ms ${out.first_turn_after_failover_ms}   in_turn_opens ${opens.near}/${opens.far}/${opens.after_failover} (goal 0 in every case)`,
    `rtt_ms near ${out.rtt_near_ms} / far ${out.rtt_far_ms} (HTTP/2 PING through each region's proxy)   calls in the wrong region: ${wrong.length}${wrong.length ? ` (${wrong.join('; ')})` : ''}`,
    'turn = end of the caller\'s speech → first RTP packet of the reply, at the caller; median over calls',
  ];
  process.stdout.write(`${table.join('\n')}\n`);
  if (a.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  const bad = Object.values(failed).some((n) => n > 0) || Object.values(opens).some((n) => n > 0) || wrong.length > 0;
  return bad ? 1 : 0;
}

async function main(): Promise<number> {
  const a = parseArgs(process.argv.slice(2));
  if (a.regions) return runRegions(a);
  if (a.role === 'calls') {
    const urls = JSON.parse(a.upstreams ?? '{}') as UpstreamUrls;
    readFileSync(urls.caFile); // fail early and clearly if the CA file is gone
    return runCalls(a, urls);
  }
  const reason = await delayedLinkUnavailableReason();
  if (a.emulation === 'netns' && reason) throw new Error(`--emulation netns: ${reason}`);
  if (a.emulation === 'proxy' || reason) return runProxy(a);
  return runNetns(a);
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`bench:turn failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
