/**
 * bench:media — CALLS RtpSessions in this (gateway) process behind one shared Pacer, each
 * echoing its inbound audio back out (RTP both ways: in → jitter buffer → 'audio' → PacedStream
 * → pacer → out). The carrier side runs in separate processes (bench/support/media-peer.ts) so
 * the load generator does not eat the gateway's core; when `taskset` exists and the host has
 * two or more CPUs, the gateway is pinned to CPU 0 and the peers to the others.
 *
 * Figures, all over the measured window (after WARMUP_MS):
 *  - pacing_jitter_p99_ms: for every frame the gateway sends, |send time − the call's ideal
 *    20 ms grid time| (the pacer's own clock, batch position included);
 *  - arrival_pdv_p99_ms: the same seen by the peer: arrival − ideal grid time from the RTP
 *    timestamp, relative to the call's fastest packet (RFC 5481 PDV);
 *  - rtp_loss: lost / sent over both directions, where lost is counted by the receiver from
 *    sequence numbers (and from sent-vs-received counts, which also catch a lost tail);
 *  - cpu_core_fraction: the gateway process's user+system CPU time / wall time.
 *
 * Three phases in one run, one after the other with the same calls, peers, schedule and pinning
 * (PHASES=pcmu,bare,pcma by default; pcmu always runs):
 *  - pcmu: the figures above, our stack with PCMU calls;
 *  - bare: a bare Node dgram pacer (bench/support/bare-pacer.ts: no RtpSession, jitter buffer,
 *    queue or G.711) → baseline_jitter_p99_ms, and jitter_ratio = pacing_jitter_p99_ms /
 *    baseline_jitter_p99_ms (pdv_ratio the same for the peer's PDV): how much of the tail is
 *    ours rather than the machine's at that moment;
 *  - pcma: the same stack with PCMA calls (A-law converted in place both ways, as src/calls
 *    does) → pcma_cpu_core_fraction beside cpu_core_fraction, and pcma_over_pcmu_cpu; per packet
 *    handled (cpu_us_per_packet, pcma_over_pcmu_cpu_per_packet) when a loaded host starved a phase.
 *
 * Env: CALLS (1000), SECONDS (measured, 20), WARMUP_MS (2000), BASE_PORT (61000, above the
 * Linux ephemeral range), PEERS (1), PEER_SOCKETS (16), SLOTS / SPIN_MS (Pacer options),
 * PIN (1; 0 = no CPU pinning), GATEWAY_NODE_FLAGS (default: npm start's, from package.json; V8 flags for
 * the gateway process, applied by re-running this script under them), POLL (1: sessions poll
 * the pacer per inbound packet; 0 = timer only), ECHO (1: send back what came in; 0: send a
 * constant frame per inbound frame, to tell the cost of holding inbound buffers apart).
 * `--json` prints one JSON object on the last line. Loopback only; every loop is bounded by
 * CALLS and by the SECONDS window.
 *
 * The host's other load shows in the result (involuntary context switches, CPU pressure, GC
 * pauses): read the jitter figures next to them.
 */
import { fork, execFileSync, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { RtpSession, PortAllocator, Pacer, PacedStream, alawToUlaw, ulawToAlaw } from '../media/index.js';
import { BarePacer } from './support/bare-pacer.js';
import type { PeerInit, PeerResult } from './support/media-peer.js';
import { startAnalyticsLoad, type AnalyticsLoadResult } from './support/analytics-load.js';
import { productionFlags } from './support/production-flags.js';

const env = (k: string, d: number): number => (process.env[k] === undefined ? d : Number(process.env[k]));
const CALLS = env('CALLS', 1000);
const SECONDS = env('SECONDS', 20);
const WARMUP_MS = env('WARMUP_MS', 2000);
const BASE = env('BASE_PORT', 61000);
const PEERS = Math.max(1, env('PEERS', 1));
const PEER_SOCKETS = env('PEER_SOCKETS', 16);
const POLL = env('POLL', 1) === 1;
const ECHO = env('ECHO', 1) === 1;
const json = process.argv.includes('--json');
const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Pins a process and all its threads; false when taskset is missing or refuses. */
function pin(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-pc', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Host-wide CPU pressure (PSI "some" total, µs): time anything runnable waited for a CPU. */
function cpuPressureUs(): number | null {
  try {
    const m = /some .*total=(\d+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Host-wide UDP receive-queue overflows (/proc/net/snmp RcvbufErrors): where loss would hide. */
function udpRcvbufErrors(): number | null {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
    const names = lines[0]!.split(/\s+/);
    return Number(lines[1]!.split(/\s+/)[names.indexOf('RcvbufErrors')]);
  } catch {
    return null;
  }
}

type PhaseKind = 'pcmu' | 'pcma' | 'bare';

/** The gateway side of one phase: what the measurement needs from it, whatever runs it. */
interface GatewaySide {
  ports: number[];
  payloadType: number;
  resetStats(): void;
  sendJitter(): { frames: number; p50: number; p99: number; max: number; missed: number; tickLatenessP99: number | null; slots: number | null };
  received(): number;
  lostBySeq(): number;
  sent(): number;
  dropped(): number;
  /** stop sending, after what is queued has drained */
  stop(): Promise<void>;
  close(): void;
}

/**
 * Our stack: RtpSessions behind the shared Pacer, each echoing its inbound audio back out. A PCMA
 * call does what src/calls does to each frame: A-law → µ-law in place for the ASR feed on the way
 * in, µ-law → A-law in place in the sink on the way out.
 */
async function openRtp(alaw: boolean): Promise<GatewaySide> {
  const alloc = new PortAllocator(BASE, BASE + CALLS * 2 + 1);
  const pacerOptions = {
    ...(process.env.SLOTS ? { slots: env('SLOTS', 10) } : {}),
    ...(process.env.SPIN_MS ? { spinMs: env('SPIN_MS', 0.6) } : {}),
  };
  const pacer = new Pacer(undefined, pacerOptions);
  const sessions: RtpSession[] = [];
  const streams: PacedStream[] = [];
  const silence = Buffer.alloc(320, 0xff);
  const tone = Buffer.alloc(160, 0x55);
  const payloadType = alaw ? 8 : 0;
  for (let i = 0; i < CALLS; i++) {
    const port = alloc.allocate();
    const s = await RtpSession.open(
      { port, bindAddress: '127.0.0.1', payloadType, remote: { address: '127.0.0.1', port: 9 }, rtcpIntervalMs: 5000, jitterDepth: 3, ...(POLL ? { pacer } : {}) },
      () => alloc.release(port),
    );
    const st = new PacedStream(alaw ? { sendFrame: (f, m) => s.sendFrame(f && ulawToAlaw(f, f), m) } : s);
    // Echo. 40 ms of silence first, a playout cushion, so inbound arrival jitter around the
    // call's pacer phase never leaves a tick with nothing queued. Node hands every datagram its
    // own buffer, so the payload can be queued without a copy.
    s.once('audio', () => st.enqueue(silence));
    if (!ECHO) s.on('audio', (p: Buffer | null) => p && st.enqueue(tone)); // same pacing, no inbound buffer kept
    else if (alaw) s.on('audio', (p: Buffer | null) => p && st.enqueue(alawToUlaw(p, p)));
    else s.on('audio', (p: Buffer | null) => p && st.enqueue(p));
    pacer.add(st);
    streams.push(st);
    sessions.push(s);
  }
  const total = (f: (s: RtpSession) => number): number => sessions.reduce((a, s) => a + f(s), 0);
  return {
    ports: sessions.map((s) => s.port),
    payloadType,
    resetStats: () => pacer.resetStats(),
    sendJitter: () => {
      const p = pacer.stats();
      return { frames: p.frames, p50: p.sendJitterP50Ms, p99: p.sendJitterP99Ms, max: p.sendJitterMaxMs, missed: p.missedTicks, tickLatenessP99: p.jitterP99Ms, slots: p.slots };
    },
    received: () => total((s) => s.stats.received),
    lostBySeq: () => total((s) => s.stats.lost),
    sent: () => total((s) => s.stats.sent),
    dropped: () => total((s) => s.stats.dropped.malformed + s.stats.dropped.wrongPayloadType + s.stats.dropped.wrongSource),
    // The gateway echoes what its jitter buffers and queues still hold (≤ 100 ms), then stops.
    stop: async () => {
      await wait(300);
      for (const st of streams) pacer.remove(st);
    },
    close: () => {
      for (const s of sessions) s.close();
    },
  };
}

async function openBare(): Promise<GatewaySide> {
  const b = await BarePacer.open(CALLS, BASE, 0);
  return {
    ports: b.ports,
    payloadType: 0,
    resetStats: () => b.resetStats(),
    sendJitter: () => {
      const p = b.stats();
      return { frames: p.frames, p50: p.sendJitterP50Ms, p99: p.sendJitterP99Ms, max: p.sendJitterMaxMs, missed: p.missedTicks, tickLatenessP99: null, slots: 40 };
    },
    received: () => b.received,
    lostBySeq: () => 0, // counted by the peer's sent vs our received below
    sent: () => b.sent,
    dropped: () => 0,
    stop: async () => {
      await wait(300);
      b.stopSending();
    },
    close: () => b.close(),
  };
}

interface PhaseResult {
  kind: PhaseKind;
  jitter: ReturnType<GatewaySide['sendJitter']>;
  pdv: { p50: number; p99: number; p999: number; max: number };
  loss: number;
  lostIn: number;
  lostOut: number;
  peerSent: number;
  gwSent: number;
  gwReceived: number;
  gwLostBySeq: number;
  dropped: number;
  rxPerS: number;
  cpu: { core: number; user: number; system: number };
  /** CPU per packet handled (in + out) in the window: comparable when a starved phase handled fewer */
  cpuUsPerPacket: number;
  peerCpu: number;
  peerSendLateP99: number;
  peers: number;
  gc: { pauses: number; p99: number; max: number; fraction: number };
  involuntary: number;
  hostCpuPressure: number | null;
  rcvbufErrors: number | null;
  analytics: AnalyticsLoadResult;
}

const r3 = (x: number): number => Number(x.toFixed(3));

/** One phase: the gateway side on CPU 0, the peers on the others, the same schedule each time. */
async function runPhase(kind: PhaseKind, pinned: boolean, cpus: number): Promise<PhaseResult> {
  const gw = kind === 'bare' ? await openBare() : await openRtp(kind === 'pcma');
  const script = fileURLToPath(new URL('./support/media-peer.ts', import.meta.url));
  const per = Math.ceil(CALLS / PEERS);
  const peers = [];
  for (let p = 0; p < PEERS; p++) {
    const ports = gw.ports.slice(p * per, (p + 1) * per);
    if (ports.length === 0) break;
    const child = fork(script, [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    if (pinned) pin(child.pid!, cpus > 2 ? `1-${cpus - 1}` : '1');
    const ready = new Promise<void>((res) => child.once('message', () => res()));
    const result = new Promise<PeerResult>((res) => child.on('message', (m: { type: string }) => m.type === 'result' && res(m as PeerResult)));
    const init: PeerInit = { type: 'init', ports, sockets: PEER_SOCKETS, maxSamples: ports.length * 50 * (SECONDS + 2), payloadType: gw.payloadType };
    child.send(init);
    await ready;
    peers.push({ child, result });
  }

  // ANALYTICS=1: the analytics of a gateway this size run in this process (bench:media:analytics compares).
  const analytics = await startAnalyticsLoad(CALLS);
  const rcvbuf0 = udpRcvbufErrors();
  for (const p of peers) p.child.send({ type: 'start' });
  await wait(WARMUP_MS);
  for (const p of peers) p.child.send({ type: 'measure' });
  gw.resetStats();
  // Diagnostics for the jitter tail: GC pauses in this process, and whether other processes
  // took the CPU (involuntary context switches here, CPU pressure on the whole host).
  const gcPauses: number[] = [];
  const gcObs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcPauses.push(e.duration);
  });
  gcObs.observe({ entryTypes: ['gc'] });
  const ru0 = process.resourceUsage();
  const psi0 = cpuPressureUs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const rx0 = gw.received();
  const tx0 = gw.sent();
  // Bounded in time: the measured window, then the peers stop and report.
  await wait(SECONDS * 1000);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const jitter = gw.sendJitter();
  const ru = process.resourceUsage();
  const psi1 = cpuPressureUs();
  gcObs.disconnect();
  gcPauses.sort((a, b) => a - b);
  const analyticsOut = await analytics.stop();
  const rxMeasured = gw.received() - rx0;
  const txMeasured = gw.sent() - tx0;
  // Wind down so that loss counts compare like with like: peers stop sending; the gateway
  // sends what it still holds, then stops; only then do the peers count what arrived.
  for (const p of peers) p.child.send({ type: 'stop' });
  await gw.stop();
  await wait(200);
  for (const p of peers) p.child.send({ type: 'report' });
  const results = await Promise.all(peers.map((p) => p.result));
  const rcvbuf1 = udpRcvbufErrors();
  gw.close();

  const sum = (f: (r: PeerResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  const max = (f: (r: PeerResult) => number): number => Math.max(...results.map(f));
  const peerSent = sum((r) => r.sent);
  const gwReceived = gw.received();
  const gwLostBySeq = gw.lostBySeq();
  const gwSent = gw.sent();
  const lostIn = Math.max(gwLostBySeq, peerSent - gwReceived);
  const lostOut = Math.max(sum((r) => r.lostBySeq), gwSent - sum((r) => r.received));
  return {
    kind,
    jitter,
    pdv: { p50: max((r) => r.pdvP50Ms), p99: max((r) => r.pdvP99Ms), p999: max((r) => r.pdvP999Ms), max: max((r) => r.pdvMaxMs) },
    loss: (lostIn + lostOut) / Math.max(1, peerSent + gwSent),
    lostIn, lostOut, peerSent, gwSent, gwReceived, gwLostBySeq,
    dropped: gw.dropped(),
    rxPerS: Math.round(rxMeasured / (wall / 1000)),
    cpu: { core: (cpu.user + cpu.system) / 1000 / wall, user: cpu.user / 1000 / wall, system: cpu.system / 1000 / wall },
    cpuUsPerPacket: (cpu.user + cpu.system) / Math.max(1, rxMeasured + txMeasured),
    peerCpu: sum((r) => r.cpuUserMs + r.cpuSystemMs) / wall,
    peerSendLateP99: max((r) => r.sendLateP99Ms),
    peers: results.length,
    gc: {
      pauses: gcPauses.length,
      p99: gcPauses.length ? gcPauses[Math.min(gcPauses.length - 1, Math.floor(0.99 * gcPauses.length))]! : 0,
      max: gcPauses.length ? gcPauses[gcPauses.length - 1]! : 0,
      fraction: gcPauses.reduce((a, b) => a + b, 0) / wall,
    },
    involuntary: ru.involuntaryContextSwitches - ru0.involuntaryContextSwitches,
    hostCpuPressure: psi0 === null || psi1 === null ? null : (psi1 - psi0) / 1000 / wall,
    rcvbufErrors: rcvbuf0 === null || rcvbuf1 === null ? null : rcvbuf1 - rcvbuf0,
    analytics: analyticsOut,
  };
}

async function main(): Promise<void> {
  const cpus = availableParallelism();
  const pinned = env('PIN', 1) === 1 && cpus >= 2 && pin(process.pid, '0');
  // Our PCMU stack, the bare baseline between, then the same stack with PCMA calls: each phase
  // has the machine as it is at that moment, and the two ratios compare neighbours.
  const kinds = (process.env.PHASES ?? 'pcmu,bare,pcma').split(',').filter((k): k is PhaseKind => k === 'pcmu' || k === 'pcma' || k === 'bare');
  if (!kinds.includes('pcmu')) kinds.unshift('pcmu');
  const line = (r: PhaseResult): string =>
    `jitter p50 ${r3(r.jitter.p50)} p99 ${r3(r.jitter.p99)} max ${r3(r.jitter.max)} ms; PDV p99 ${r3(r.pdv.p99)} ms; loss ${Number(r.loss.toFixed(6))} (in ${r.lostIn} of ${r.peerSent}, out ${r.lostOut} of ${r.gwSent}, dropped ${r.dropped}); CPU ${r3(r.cpu.core)} core (${r3(r.cpuUsPerPacket)} µs/packet); host CPU pressure ${r.hostCpuPressure === null ? 'n/a' : r3(r.hostCpuPressure)}`;
  const phases = new Map<PhaseKind, PhaseResult>();
  for (const k of kinds) {
    const r = await runPhase(k, pinned, cpus);
    phases.set(k, r);
    process.stderr.write(`phase ${k}: ${line(r)}\n`); // progress, should a long run be cut short
    await wait(500); // the previous phase's ports and peers are gone before the next binds
  }
  const ours = phases.get('pcmu')!;
  const bare = phases.get('bare');
  const pcma = phases.get('pcma');
  const ratio = (a: number, b: number | undefined): number | null => (b === undefined || b <= 0 ? null : r3(a / b));
  const out = {
    calls: CALLS,
    seconds: SECONDS,
    pacing_jitter_p99_ms: r3(ours.jitter.p99),
    pacing_jitter_p50_ms: r3(ours.jitter.p50),
    pacing_jitter_max_ms: r3(ours.jitter.max),
    pacing_frames: ours.jitter.frames,
    baseline_jitter_p99_ms: bare ? r3(bare.jitter.p99) : null,
    baseline_jitter_p50_ms: bare ? r3(bare.jitter.p50) : null,
    jitter_ratio: ratio(ours.jitter.p99, bare?.jitter.p99),
    arrival_pdv_p99_ms: r3(ours.pdv.p99),
    arrival_pdv_p50_ms: r3(ours.pdv.p50),
    arrival_pdv_p999_ms: r3(ours.pdv.p999),
    arrival_pdv_max_ms: r3(ours.pdv.max),
    baseline_arrival_pdv_p99_ms: bare ? r3(bare.pdv.p99) : null,
    pdv_ratio: ratio(ours.pdv.p99, bare?.pdv.p99),
    pacer_tick_lateness_p99_ms: r3(ours.jitter.tickLatenessP99 ?? 0),
    pacer_missed_frames: ours.jitter.missed,
    pacer_slots: ours.jitter.slots,
    rtp_loss: Number(ours.loss.toFixed(6)),
    rtp_lost_inbound: ours.lostIn,
    rtp_lost_outbound: ours.lostOut,
    baseline_loss: bare ? Number(bare.loss.toFixed(6)) : null,
    packets_in: ours.gwReceived,
    packets_out: ours.gwSent,
    packets_in_per_s: ours.rxPerS,
    cpu_core_fraction: r3(ours.cpu.core),
    cpu_user_fraction: r3(ours.cpu.user),
    cpu_system_fraction: r3(ours.cpu.system),
    baseline_cpu_core_fraction: bare ? r3(bare.cpu.core) : null,
    pcma_cpu_core_fraction: pcma ? r3(pcma.cpu.core) : null,
    pcma_over_pcmu_cpu: ratio(pcma?.cpu.core ?? 0, ours.cpu.core),
    cpu_us_per_packet: r3(ours.cpuUsPerPacket),
    baseline_cpu_us_per_packet: bare ? r3(bare.cpuUsPerPacket) : null,
    pcma_cpu_us_per_packet: pcma ? r3(pcma.cpuUsPerPacket) : null,
    pcma_over_pcmu_cpu_per_packet: ratio(pcma?.cpuUsPerPacket ?? 0, ours.cpuUsPerPacket),
    pcma_pacing_jitter_p99_ms: pcma ? r3(pcma.jitter.p99) : null,
    pcma_rtp_loss: pcma ? Number(pcma.loss.toFixed(6)) : null,
    peer_cpu_core_fraction: r3(ours.peerCpu),
    peer_send_late_p99_ms: r3(ours.peerSendLateP99),
    gateway_gc_pauses: ours.gc.pauses,
    gateway_gc_pause_p99_ms: r3(ours.gc.p99),
    gateway_gc_pause_max_ms: r3(ours.gc.max),
    gateway_gc_fraction: r3(ours.gc.fraction),
    gateway_involuntary_switches: ours.involuntary,
    host_cpu_pressure: ours.hostCpuPressure === null ? null : r3(ours.hostCpuPressure),
    baseline_host_cpu_pressure: bare?.hostCpuPressure == null ? null : r3(bare.hostCpuPressure),
    host_udp_rcvbuf_errors: ours.rcvbufErrors,
    gateway_dropped: ours.dropped,
    gateway_lost_by_seq: ours.gwLostBySeq,
    peers: ours.peers,
    pinned,
    gateway_node_flags: process.execArgv.filter((a) => a.startsWith('--max-') || a.startsWith('--single') || a.startsWith('--semi')).join(' '),
    pacer_polled_by_rx: POLL,
    node: process.version,
    ...ours.analytics,
  };
  const rows: [string, string][] = [
    ['calls', String(out.calls)],
    ['measured window', `${SECONDS} s after ${WARMUP_MS} ms warm-up, per phase`],
    ['pacing jitter (gateway send vs grid)', `p50 ${out.pacing_jitter_p50_ms} ms  p99 ${out.pacing_jitter_p99_ms} ms  max ${out.pacing_jitter_max_ms} ms  (${out.pacing_frames} frames)`],
    ['arrival PDV (at the peer)', `p50 ${out.arrival_pdv_p50_ms} ms  p99 ${out.arrival_pdv_p99_ms} ms  p99.9 ${out.arrival_pdv_p999_ms} ms  max ${out.arrival_pdv_max_ms} ms`],
    ['RTP loss', `${out.rtp_loss}  (in ${ours.lostIn} of ${ours.peerSent}, out ${ours.lostOut} of ${ours.gwSent})`],
    ['gateway CPU', `${out.cpu_core_fraction} of one core (user ${out.cpu_user_fraction}, sys ${out.cpu_system_fraction}; ${out.cpu_us_per_packet} µs per packet in or out)${pinned ? ', pinned to CPU 0' : ''}`],
    ['peer CPU', `${out.peer_cpu_core_fraction} core(s) in ${out.peers} process(es)`],
    ['gateway GC', `${out.gateway_gc_pauses} pauses, p99 ${out.gateway_gc_pause_p99_ms} ms, max ${out.gateway_gc_pause_max_ms} ms, ${out.gateway_gc_fraction} of wall time`],
    ['contention', `${out.gateway_involuntary_switches} involuntary context switches; host CPU pressure ${out.host_cpu_pressure ?? 'n/a'} (share of time something runnable waited)`],
    ['pacer', `${out.pacer_slots} slots, missed frames ${out.pacer_missed_frames}, tick lateness p99 ${out.pacer_tick_lateness_p99_ms} ms`],
    ...(bare ? [['baseline (bare dgram pacer)', line(bare)] as [string, string]] : []),
    ...(bare ? [['jitter_ratio (ours / baseline p99)', `${out.jitter_ratio}  (PDV ${out.pdv_ratio})`] as [string, string]] : []),
    ...(pcma ? [['PCMA calls (same stack)', line(pcma)] as [string, string]] : []),
    ...(pcma ? [['PCMA / PCMU CPU', `${out.pcma_over_pcmu_cpu} (per packet ${out.pcma_over_pcmu_cpu_per_packet})`] as [string, string]] : []),
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  if (json) console.log(JSON.stringify(out));
  process.exit(0);
}

// V8 heap flags only take effect at start-up, so a gateway run under GATEWAY_NODE_FLAGS is this
// script again in a child node with those flags (the peers inherit them via execArgv).
// Default: the flags `npm start` runs the gateway with, so the bench measures the gateway as deployed.
const flags = process.env.GATEWAY_NODE_FLAGS !== undefined ? process.env.GATEWAY_NODE_FLAGS.split(/\s+/).filter(Boolean) : productionFlags();
if (flags.length > 0 && !process.env.WL_BENCH_REEXEC) {
  const r = spawnSync(process.execPath, [...flags, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, WL_BENCH_REEXEC: '1' },
  });
  process.exit(r.status ?? 1);
} else void main();
