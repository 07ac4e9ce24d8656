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
 * Env: CALLS (1000), SECONDS (measured, 20), WARMUP_MS (2000), BASE_PORT (61000, above the
 * Linux ephemeral range), PEERS (1), PEER_SOCKETS (16), SLOTS / SPIN_MS (Pacer options),
 * PIN (1; 0 = no CPU pinning), GATEWAY_NODE_FLAGS (default "--max-semi-space-size=1 --single-threaded-gc", as npm start: V8 flags for
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
import { RtpSession, PortAllocator, Pacer, PacedStream } from '../media/index.js';
import type { PeerInit, PeerResult } from './support/media-peer.js';
import { startAnalyticsLoad } from './support/analytics-load.js';

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

async function main(): Promise<void> {
  const cpus = availableParallelism();
  const pinned = env('PIN', 1) === 1 && cpus >= 2 && pin(process.pid, '0');
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
  for (let i = 0; i < CALLS; i++) {
    const port = alloc.allocate();
    const s = await RtpSession.open(
      { port, bindAddress: '127.0.0.1', payloadType: 0, remote: { address: '127.0.0.1', port: 9 }, rtcpIntervalMs: 5000, jitterDepth: 3, ...(POLL ? { pacer } : {}) },
      () => alloc.release(port),
    );
    const st = new PacedStream(s);
    // Echo. 40 ms of silence first, a playout cushion, so inbound arrival jitter around the
    // call's pacer phase never leaves a tick with nothing queued. Node hands every datagram its
    // own buffer, so the payload can be queued without a copy.
    s.once('audio', () => st.enqueue(silence));
    if (ECHO) s.on('audio', (p: Buffer | null) => p && st.enqueue(p));
    else s.on('audio', (p: Buffer | null) => p && st.enqueue(tone)); // same pacing, no inbound buffer kept
    pacer.add(st);
    streams.push(st);
    sessions.push(s);
  }

  const script = fileURLToPath(new URL('./support/media-peer.ts', import.meta.url));
  const per = Math.ceil(CALLS / PEERS);
  const peers = [];
  for (let p = 0; p < PEERS; p++) {
    const ports = sessions.slice(p * per, (p + 1) * per).map((s) => s.port);
    if (ports.length === 0) break;
    const child = fork(script, [], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    if (pinned) pin(child.pid!, cpus > 2 ? `1-${cpus - 1}` : '1');
    const ready = new Promise<void>((res) => child.once('message', () => res()));
    const result = new Promise<PeerResult>((res) => child.on('message', (m: { type: string }) => m.type === 'result' && res(m as PeerResult)));
    const init: PeerInit = { type: 'init', ports, sockets: PEER_SOCKETS, maxSamples: ports.length * 50 * (SECONDS + 2) };
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
  pacer.resetStats();
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
  const rx0 = sessions.reduce((a, s) => a + s.stats.received, 0);
  // Bounded in time: the measured window, then the peers stop and report.
  await wait(SECONDS * 1000);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const pst = pacer.stats();
  const ru = process.resourceUsage();
  const psi1 = cpuPressureUs();
  gcObs.disconnect();
  gcPauses.sort((a, b) => a - b);
  const analyticsOut = await analytics.stop();
  const rxMeasured = sessions.reduce((a, s) => a + s.stats.received, 0) - rx0;
  // Wind down so that loss counts compare like with like: peers stop sending; the gateway
  // echoes what its jitter buffers and queues still hold (≤ 100 ms), then stops its pacer;
  // only then do the peers count what arrived.
  for (const p of peers) p.child.send({ type: 'stop' });
  await wait(300);
  for (const st of streams) pacer.remove(st);
  await wait(200);
  for (const p of peers) p.child.send({ type: 'report' });
  const results = await Promise.all(peers.map((p) => p.result));
  const rcvbuf1 = udpRcvbufErrors();
  for (const s of sessions) s.close();

  const sum = (f: (r: PeerResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  const peerSent = sum((r) => r.sent);
  const gwReceived = sessions.reduce((a, s) => a + s.stats.received, 0);
  const gwLostBySeq = sessions.reduce((a, s) => a + s.stats.lost, 0);
  const gwSent = sessions.reduce((a, s) => a + s.stats.sent, 0);
  const peerReceived = sum((r) => r.received);
  const lostIn = Math.max(gwLostBySeq, peerSent - gwReceived);
  const lostOut = Math.max(sum((r) => r.lostBySeq), gwSent - peerReceived);
  const max = (f: (r: PeerResult) => number): number => Math.max(...results.map(f));
  const r3 = (x: number): number => Number(x.toFixed(3));
  const out = {
    calls: CALLS,
    seconds: SECONDS,
    pacing_jitter_p99_ms: r3(pst.sendJitterP99Ms),
    pacing_jitter_p50_ms: r3(pst.sendJitterP50Ms),
    pacing_jitter_max_ms: r3(pst.sendJitterMaxMs),
    pacing_frames: pst.frames,
    arrival_pdv_p99_ms: r3(max((r) => r.pdvP99Ms)),
    arrival_pdv_p50_ms: r3(max((r) => r.pdvP50Ms)),
    arrival_pdv_p999_ms: r3(max((r) => r.pdvP999Ms)),
    arrival_pdv_max_ms: r3(max((r) => r.pdvMaxMs)),
    pacer_tick_lateness_p99_ms: r3(pst.jitterP99Ms),
    pacer_missed_frames: pst.missedTicks,
    pacer_slots: pst.slots,
    rtp_loss: Number(((lostIn + lostOut) / Math.max(1, peerSent + gwSent)).toFixed(6)),
    rtp_lost_inbound: lostIn,
    rtp_lost_outbound: lostOut,
    packets_in: gwReceived,
    packets_out: gwSent,
    packets_in_per_s: Math.round(rxMeasured / (wall / 1000)),
    cpu_core_fraction: r3((cpu.user + cpu.system) / 1000 / wall),
    cpu_user_fraction: r3(cpu.user / 1000 / wall),
    cpu_system_fraction: r3(cpu.system / 1000 / wall),
    peer_cpu_core_fraction: r3(sum((r) => r.cpuUserMs + r.cpuSystemMs) / wall),
    peer_send_late_p99_ms: r3(max((r) => r.sendLateP99Ms)),
    gateway_gc_pauses: gcPauses.length,
    gateway_gc_pause_p99_ms: r3(gcPauses.length ? gcPauses[Math.min(gcPauses.length - 1, Math.floor(0.99 * gcPauses.length))]! : 0),
    gateway_gc_pause_max_ms: r3(gcPauses.length ? gcPauses[gcPauses.length - 1]! : 0),
    gateway_gc_fraction: r3(gcPauses.reduce((a, b) => a + b, 0) / wall),
    gateway_involuntary_switches: ru.involuntaryContextSwitches - ru0.involuntaryContextSwitches,
    host_cpu_pressure: psi0 === null || psi1 === null ? null : r3((psi1 - psi0) / 1000 / wall),
    host_udp_rcvbuf_errors: rcvbuf0 === null || rcvbuf1 === null ? null : rcvbuf1 - rcvbuf0,
    gateway_dropped: sessions.reduce((a, s) => a + s.stats.dropped.malformed + s.stats.dropped.wrongPayloadType + s.stats.dropped.wrongSource, 0),
    gateway_lost_by_seq: gwLostBySeq,
    peers: results.length,
    pinned,
    gateway_node_flags: process.execArgv.filter((a) => a.startsWith('--max-') || a.startsWith('--single') || a.startsWith('--semi')).join(' '),
    pacer_polled_by_rx: POLL,
    node: process.version,
    ...analyticsOut,
  };
  const rows: [string, string][] = [
    ['calls', String(out.calls)],
    ['measured window', `${SECONDS} s after ${WARMUP_MS} ms warm-up`],
    ['pacing jitter (gateway send vs grid)', `p50 ${out.pacing_jitter_p50_ms} ms  p99 ${out.pacing_jitter_p99_ms} ms  max ${out.pacing_jitter_max_ms} ms  (${out.pacing_frames} frames)`],
    ['arrival PDV (at the peer)', `p50 ${out.arrival_pdv_p50_ms} ms  p99 ${out.arrival_pdv_p99_ms} ms  p99.9 ${out.arrival_pdv_p999_ms} ms  max ${out.arrival_pdv_max_ms} ms`],
    ['RTP loss', `${out.rtp_loss}  (in ${lostIn} of ${peerSent}, out ${lostOut} of ${gwSent})`],
    ['gateway CPU', `${out.cpu_core_fraction} of one core (user ${out.cpu_user_fraction}, sys ${out.cpu_system_fraction})${pinned ? ', pinned to CPU 0' : ''}`],
    ['peer CPU', `${out.peer_cpu_core_fraction} core(s) in ${out.peers} process(es)`],
    ['gateway GC', `${out.gateway_gc_pauses} pauses, p99 ${out.gateway_gc_pause_p99_ms} ms, max ${out.gateway_gc_pause_max_ms} ms, ${out.gateway_gc_fraction} of wall time`],
    ['contention', `${out.gateway_involuntary_switches} involuntary context switches; host CPU pressure ${out.host_cpu_pressure ?? 'n/a'} (share of time something runnable waited)`],
    ['pacer', `${out.pacer_slots} slots, missed frames ${out.pacer_missed_frames}, tick lateness p99 ${out.pacer_tick_lateness_p99_ms} ms`],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  if (json) console.log(JSON.stringify(out));
  process.exit(0);
}

// V8 heap flags only take effect at start-up, so a gateway run under GATEWAY_NODE_FLAGS is this
// script again in a child node with those flags (the peers inherit them via execArgv).
// Default: the flags `npm start` runs the gateway with, so the bench measures the gateway as deployed.
const flags = (process.env.GATEWAY_NODE_FLAGS ?? '--max-semi-space-size=1 --single-threaded-gc').split(/\s+/).filter(Boolean);
if (flags.length > 0 && !process.env.WL_BENCH_REEXEC) {
  const r = spawnSync(process.execPath, [...flags, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, WL_BENCH_REEXEC: '1' },
  });
  process.exit(r.status ?? 1);
} else void main();
