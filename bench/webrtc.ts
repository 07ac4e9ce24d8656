/**
 * bench:webrtc — concurrent WebRTC calls against one gateway process pinned to one CPU.
 *
 * Each caller is a Node WebRTC peer of the gateway's own stack (node-datachannel), offering what
 * Chromium offers (Opus, PCMU, PCMA, telephone-event), that does what the demo page does: POST
 * /demo/session, SIP over WebSocket with digest auth, DTLS-SRTP. Every caller sends a 20 ms µ-law
 * frame every 20 ms for the whole call and listens to the agent's greeting. The local upstreams
 * run in this (parent) process, so the gateway's CPU figure is the gateway's alone.
 *
 * Figures:
 *  - setup_p50_ms / setup_p95_ms: INVITE sent → DTLS-SRTP up at the caller (the 401 round trip included);
 *  - first_audio_p95_ms: 200 OK received → first agent RTP decrypted at the caller;
 *  - srtp_loss: packets lost (sequence gaps) over both directions / packets expected;
 *  - cpu_core_fraction: gateway user+system CPU time (all its threads, from /proc) / wall time,
 *    over the window in which every call is up;
 *  - pacing_jitter_p99_ms: the gateway pacer's send-time error p99.
 *
 * --stack node-datachannel|werift|all: which stack answers in the gateway (default the shipped
 * node-datachannel; werift swaps the gateway's WebRTC endpoint for bench/support/werift-endpoint.ts,
 * same face, same gateway otherwise; all: one after the other, same load, one row each). The callers
 * are node-datachannel peers in every case.
 *
 * Options: --calls N (default 50), --hold S (seconds every call stays up together, default 8),
 * --setup-concurrency N (default 8), --no-preauth (first INVITE without credentials, as sip.js in
 * the page sends it: the 401 round trip is paid), --json. Loopback only; every loop is bounded by N and the hold.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalUpstreams } from '../src/local/index.js';
import { WebRtcPeer } from './support/webrtc-peer.js';
import { WsSipCaller } from './support/ws-sip-caller.js';

const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const CALLS = arg('calls', 50);
const HOLD_S = arg('hold', 8);
const SETUP_CONCURRENCY = arg('setup-concurrency', 8);
const JSON_OUT = process.argv.includes('--json');
// The demo page's sip.js waits for the 401; Node callers can use the challenge POST /demo/session hands out.
const PREAUTH = !process.argv.includes('--no-preauth');
const STACK_ARG = ((i) => (i >= 0 ? process.argv[i + 1]! : 'node-datachannel'))(process.argv.indexOf('--stack'));
const STACKS = STACK_ARG === 'all' ? ['node-datachannel', 'werift'] : [STACK_ARG];
const KEY = 'bench-key';

interface GatewayPhase { createMs: number; gatherMs: number; connectedMs?: number }
interface Stats { pacer: { jitterP99Ms: number; streams: number }; active: number; rtp: Array<{ received: number; lost: number } | undefined>; phases: GatewayPhase[]; agentStarts: number[] }
/** One call's setup, cut where the caller can see it (ms). */
interface CallerPhase { auth: number; invite: number; ice: number; dtls: number }

const q = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

function cpuSeconds(pid: number): number {
  // /proc/PID/stat fields 14 and 15 (utime, stime) count every thread of the process, in ticks.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Setup cut into phases, each [p50, p95] in ms. Caller's clock: auth_401 (first INVITE sent → its
 * 401 → the INVITE with credentials sent), invite_to_200 (that INVITE → 200 OK), ice (200 OK
 * applied → the caller's ICE connected), dtls (ICE connected → DTLS-SRTP up). Gateway's clock,
 * inside invite_to_200: gw_answer_create (peer connection made, offer applied), gw_answer_gather
 * (waiting for our host candidate), gw_agent_start (the agent's ASR stream from the warm pool); and gw_answer_to_dtls (answer made → DTLS up at the gateway).
 */
/** True when the first INVITE carried credentials for every call (no 401 round trip was paid). */
function preauthorized(c: CallerPhase[]): boolean {
  return c.length > 0 && c.every((x) => x.auth === 0);
}

function phaseTable(c: CallerPhase[], g: GatewayPhase[], agentStarts: number[]): Record<string, [number, number]> {
  const pq = (xs: number[]): [number, number] => [round(q(xs, 0.5)), round(q(xs, 0.95))];
  return {
    auth_401: pq(c.map((x) => x.auth)),
    invite_to_200: pq(c.map((x) => x.invite)),
    gw_answer_create: pq(g.map((x) => x.createMs)),
    gw_answer_gather: pq(g.map((x) => x.gatherMs)),
    gw_agent_start: pq(agentStarts),
    ice: pq(c.map((x) => x.ice)),
    dtls: pq(c.map((x) => x.dtls)),
    gw_answer_to_dtls: pq(g.flatMap((x) => (x.connectedMs === undefined ? [] : [x.connectedMs]))),
  };
}

async function run(stack: string): Promise<Record<string, unknown> & { setup_phases_ms: Record<string, [number, number]> }> {
  const dir = mkdtempSync(join(tmpdir(), 'warmline-bench-webrtc-'));
  // Deepgram's published 50 concurrent streams are the local server's default: every caller here holds one.
  const up = await startLocalUpstreams({ apiKey: KEY, asrMaxStreams: CALLS + 20 });
  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, up.ca);
  const overrides = {
    server: { httpPort: 0 },
    log: { level: 'warn' },
    // Every caller here comes from 127.0.0.1: one WebSocket each.
    sip: { port: 0, maxConnectionsPerSource: CALLS + 10 },
    media: { portMin: 52000, portMax: 52000 + CALLS * 2 + 200, rtpTimeoutMs: 0 },
    upstreams: {
      asr: { baseUrl: up.asr.url, apiKey: KEY },
      tts: { baseUrl: up.tts.url, apiKey: KEY },
      llm: { baseUrl: up.llm.url, apiKey: KEY },
      crm: { baseUrl: up.crm.url, apiKey: KEY },
    },
    // One ASR stream per call: warm enough for every call before the first INVITE.
    pools: { asr: { min: CALLS + 2, max: CALLS + 20 }, tts: { min: Math.ceil(CALLS / 5) + 1, max: Math.ceil(CALLS / 5) + 10 } },
    demo: { maxConcurrentCalls: CALLS, sessionsPerMinute: CALLS * 4 },
    agents: { bench: { greeting: 'Hello, this is the Warmline benchmark line.', systemPrompt: 'Be brief.', voiceId: '', language: '', tools: [] } },
    routes: [{ did: '*', agent: 'bench' }],
  };
  const pin = availableParallelism() >= 2;
  const script = fileURLToPath(new URL('./support/webrtc-gateway.ts', import.meta.url));
  const child = pin
    ? fork(script, [JSON.stringify(overrides), stack], { execPath: 'taskset', execArgv: ['-c', '0', process.execPath, '--import', 'tsx'], env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile } })
    : fork(script, [JSON.stringify(overrides), stack], { execArgv: ['--import', 'tsx'], env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile } });
  const messages: Array<(m: { type: string } & Record<string, unknown>) => void> = [];
  child.on('message', (m: { type: string } & Record<string, unknown>) => messages.splice(0).forEach((w) => w(m)));
  const next = <T>(type: string): Promise<T> => new Promise((resolve) => {
    const wait = (m: { type: string } & Record<string, unknown>) => (m.type === type ? resolve(m as T) : messages.push(wait));
    messages.push(wait);
  });
  const ready = await next<{ opsUrl: string }>('ready');

  const setups: number[] = [];
  const callerPhases: CallerPhase[] = [];
  const firstAudio: number[] = [];
  const calls: Array<{ peer: WebRtcPeer; caller: WsSipCaller; answeredAt: number }> = [];
  let failed = 0;
  /** Why the first failed call failed, printed with the figures. */
  let firstFailure = '';
  const fail = (why: string): void => {
    failed++;
    firstFailure ||= why;
  };
  async function place(i: number): Promise<void> {
    const res = await fetch(new URL('/demo/session', ready.opsUrl), { method: 'POST' });
    if (!res.ok) {
      fail(`POST /demo/session: ${res.status}`);
      return;
    }
    const s = (await res.json()) as { username: string; password: string; wsUrl: string; target: string; challenge?: string };
    const peer = new WebRtcPeer(`bench-${i}`);
    const caller = await WsSipCaller.connect(s.wsUrl, s.username, s.password);
    const offer = await peer.offer();
    const t0 = performance.now();
    const r = await caller.invite(s.target, offer, 10_000, PREAUTH ? s.challenge : undefined);
    if (r.status !== 200) {
      fail(`INVITE: ${r.status} ${r.header('warning') ?? ''}`);
      peer.close();
      caller.close();
      return;
    }
    const answeredAt = performance.now();
    peer.answer(r.body);
    await Promise.race([peer.whenOpen(), new Promise((_, rej) => setTimeout(() => rej(new Error('DTLS timeout')), 10_000))]);
    setups.push(peer.connectedAt! - t0);
    const inv = caller.inviteTimes;
    const last = inv[inv.length - 1]!;
    const ice = peer.iceConnectedAt ?? peer.connectedAt!;
    callerPhases.push({
      auth: inv.length > 1 ? inv[0]!.finalAt - inv[0]!.sentAt + (last.sentAt - inv[0]!.finalAt) : 0,
      invite: last.finalAt - last.sentAt,
      ice: ice - answeredAt,
      dtls: peer.connectedAt! - ice,
    });
    calls.push({ peer, caller, answeredAt });
  }

  // One call first, hung up once the greeting is heard: the local TTS has then synthesized the
  // greeting once, as a replica that has been up for a while has (the figures are the gateway's).
  await place(-1);
  const warm = calls.pop();
  if (warm) {
    const deadline = Date.now() + 60_000;
    while (warm.peer.firstAudioAt === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await warm.caller.bye().catch(() => undefined);
    warm.peer.close();
    warm.caller.close();
    setups.length = 0;
    callerPhases.length = 0;
  }

  // Every caller speaks: one frame per 20 ms per connected call, from one timer.
  let framesSent = 0;
  const speaker = setInterval(() => {
    for (const c of calls) if (c.peer.sendFrame()) framesSent++;
  }, 20);
  let started = 0;
  const workers = Array.from({ length: SETUP_CONCURRENCY }, async () => {
    while (started < CALLS) {
      const i = started++;
      await place(i).catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
    }
  });
  await Promise.all(workers);

  // All up: the measured window.
  const cpu0 = cpuSeconds(child.pid!);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, HOLD_S * 1000));
  const cpu1 = cpuSeconds(child.pid!);
  const wall = (performance.now() - t0) / 1000;
  child.send({ type: 'stats' });
  const stats = await next<Stats>('stats');
  clearInterval(speaker);
  for (const c of calls) if (c.peer.firstAudioAt !== undefined) firstAudio.push(c.peer.firstAudioAt - c.answeredAt);

  // Loss over both directions: the agent's stream at each caller, each caller's at the gateway.
  let lost = 0;
  let expected = 0;
  let agentReceived = 0;
  let gatewayReceived = 0;
  for (const c of calls) {
    lost += c.peer.lost;
    expected += c.peer.received + c.peer.lost;
    agentReceived += c.peer.received;
  }
  for (const r of stats.rtp) {
    if (!r) continue;
    lost += r.lost;
    expected += r.received + r.lost;
    gatewayReceived += r.received;
  }
  await Promise.all(calls.map((c) => c.caller.bye().catch(() => undefined)));
  for (const c of calls) {
    c.peer.close();
    c.caller.close();
  }
  child.send({ type: 'close' });
  await new Promise((r) => child.once('exit', r));
  await up.close();
  rmSync(dir, { recursive: true, force: true });

  const result = {
    stack,
    calls: calls.length,
    failed,
    ...(firstFailure && { first_failure: firstFailure }),
    pinned: pin,
    cpu_core_fraction: round((cpu1 - cpu0) / wall, 3),
    setup_p50_ms: round(q(setups, 0.5)),
    setup_p95_ms: round(q(setups, 0.95)),
    first_audio_p95_ms: round(q(firstAudio, 0.95)),
    srtp_loss: expected ? lost / expected : 0,
    packets_expected: expected,
    caller_frames_sent: framesSent,
    caller_frames_at_gateway: gatewayReceived,
    // Calls the gateway still held when the window closed (a call it ended early counts no frames above).
    gateway_calls_at_end: stats.active,
    agent_frames_at_callers: agentReceived,
    pacing_jitter_p99_ms: round(stats.pacer.jitterP99Ms, 2),
    hold_s: HOLD_S,
    preauth: PREAUTH && preauthorized(callerPhases),
    setup_phases_ms: phaseTable(callerPhases, stats.phases.slice(warm ? 1 : 0), stats.agentStarts.slice(warm ? 1 : 0)),
  };
  const rows: Array<[string, string]> = Object.entries(result).filter(([k]) => k !== 'setup_phases_ms').map(([k, v]) => [k, String(v)]);
  process.stdout.write(`bench:webrtc — ${CALLS} WebRTC calls, gateway on ${stack}, ${pin ? 'pinned to CPU 0' : 'not pinned (one CPU)'}\n`);
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(22)} ${v}\n`);
  process.stdout.write(`  setup phases (ms)      p50     p95\n`);
  for (const [k, [p50, p95]] of Object.entries(result.setup_phases_ms)) process.stdout.write(`    ${k.padEnd(20)} ${String(p50).padStart(7)} ${String(p95).padStart(7)}\n`);
  return result;
}

async function main(): Promise<void> {
  const results = [];
  for (const stack of STACKS) results.push(await run(stack));
  // The last line: the first stack's figures, and with --stack all every stack's under `stacks`.
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(results.length > 1 ? { ...results[0], stacks: results } : results[0])}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:webrtc failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
