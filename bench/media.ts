/**
 * bench:media — CALLS RtpSessions in this (gateway) process, one shared pacer echoing each
 * call's inbound audio back out; a child load-generator process sends 50 pps µ-law to every
 * port on a drift-corrected clock and measures what comes back.
 * Env: CALLS (default 1000), SECONDS (measured window, default 20), BASE_PORT (default 61000, above the ephemeral range).
 * `--json` prints one JSON object on the last line.
 */
import dgram from 'node:dgram';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RtpSession, PortAllocator, Pacer, PacedStream, writeRtpHeader } from '../media/index.js';

const CALLS = Number(process.env.CALLS ?? 1000);
const SECONDS = Number(process.env.SECONDS ?? 20);
const BASE = Number(process.env.BASE_PORT ?? 61000);

interface GenResult { sent: number; received: number; arrivalJitterP99Ms: number; arrivalJitterP50Ms: number }

const pct = (a: number[], p: number): number => {
  if (a.length === 0) return 0;
  const s = a.slice().sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

async function generator(): Promise<void> {
  const ports: number[] = JSON.parse(process.env.GEN_PORTS!);
  const seconds = Number(process.env.GEN_SECONDS);
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const lastArrival = new Map<number, number>();
  const dev: number[] = [];
  let received = 0;
  let sent = 0;
  sock.on('message', (m) => {
    received++;
    const ssrc = m.readUInt32BE(8);
    const t = performance.now();
    const prev = lastArrival.get(ssrc);
    // arrival jitter: how far each inter-arrival gap is from the 20 ms frame period
    if (prev !== undefined && dev.length < 2_000_000) dev.push(Math.abs(t - prev - 20));
    lastArrival.set(ssrc, t);
  });
  process.send!('ready');
  await new Promise((r) => setTimeout(r, 500));
  const pkt = Buffer.alloc(172, 0x55);
  const start = performance.now();
  const ticks = seconds * 50;
  for (let n = 0; n < ticks; n++) {
    for (let i = 0; i < ports.length; i++) {
      writeRtpHeader(pkt, 0, n === 0, n, n * 160, i + 1);
      sock.send(pkt, ports[i]!, '127.0.0.1');
      sent++;
    }
    const due = start + (n + 1) * 20;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await new Promise((r) => setTimeout(r, 500));
  sock.close();
  const res: GenResult = { sent, received, arrivalJitterP99Ms: pct(dev, 0.99), arrivalJitterP50Ms: pct(dev, 0.5) };
  process.send!(res, () => process.exit(0));
}

async function gateway(): Promise<void> {
  const json = process.argv.includes('--json');
  const alloc = new PortAllocator(BASE, BASE + CALLS * 2 + 1);
  const pacer = new Pacer();
  const sessions: RtpSession[] = [];
  const streams: PacedStream[] = [];
  for (let i = 0; i < CALLS; i++) {
    const port = alloc.allocate();
    const s = await RtpSession.open({ port, bindAddress: '127.0.0.1', payloadType: 0, remote: { address: '127.0.0.1', port: 9 }, rtcpIntervalMs: 5000, jitterDepth: 3 }, () => alloc.release(port));
    const st = new PacedStream(s);
    // echo: every inbound frame goes back out through the shared pacer
    s.on('audio', (p: Buffer | null) => p && st.enqueue(Buffer.from(p)));
    sessions.push(s);
    streams.push(st);
  }
  for (const st of streams) pacer.add(st);
  const child = fork(fileURLToPath(import.meta.url), ['--gen'], {
    env: { ...process.env, GEN_PORTS: JSON.stringify(sessions.map((_, i) => BASE + i * 2 + (BASE % 2))), GEN_SECONDS: String(SECONDS) },
    execArgv: process.execArgv,
  });
  const result = new Promise<GenResult>((res) => child.on('message', (m) => m !== 'ready' && res(m as GenResult)));
  await new Promise<void>((res) => child.once('message', () => res()));
  await new Promise((r) => setTimeout(r, 500));
  pacer.resetStats();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const before = pacer.stats().ticks;
  const gen = await result;
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const pst = pacer.stats();
  for (const st of streams) pacer.remove(st);
  const rx = sessions.reduce((a, s) => a + s.stats.received, 0);
  const tx = sessions.reduce((a, s) => a + s.stats.sent, 0);
  for (const s of sessions) s.close();
  const inLoss = gen.sent ? Math.max(0, gen.sent - rx) / gen.sent : 0;
  const outLoss = tx ? Math.max(0, tx - gen.received) / tx : 0;
  const out = {
    calls: CALLS,
    seconds: SECONDS,
    pacing_jitter_p99_ms: Number(pst.jitterP99Ms.toFixed(3)),
    pacing_jitter_note: 'pacing_jitter_p99_ms = gateway send-time jitter (pacer tick vs ideal, last 4096 ticks); arrival_jitter_p99_ms = generator-measured |inter-arrival − 20 ms|',
    arrival_jitter_p99_ms: Number(gen.arrivalJitterP99Ms.toFixed(3)),
    arrival_jitter_p50_ms: Number(gen.arrivalJitterP50Ms.toFixed(3)),
    pacer_missed_ticks: pst.missedTicks,
    pacer_ticks: pst.ticks - before,
    rtp_loss: Number(((gen.sent * inLoss + tx * outLoss) / Math.max(1, gen.sent + tx)).toFixed(5)),
    rtp_loss_inbound: Number(inLoss.toFixed(5)),
    rtp_loss_outbound: Number(outLoss.toFixed(5)),
    packets_in: rx,
    packets_out: tx,
    cpu_core_fraction: Number(((cpu.user + cpu.system) / 1000 / wall).toFixed(3)),
  };
  console.log('calls  pacing_jitter_p99(gw send)  arrival_jitter_p99(gen)  loss_in  loss_out  cpu_core');
  console.log(`${out.calls}  ${out.pacing_jitter_p99_ms} ms  ${out.arrival_jitter_p99_ms} ms  ${out.rtp_loss_inbound}  ${out.rtp_loss_outbound}  ${out.cpu_core_fraction}`);
  if (json) console.log(JSON.stringify(out));
  process.exit(0);
}

if (process.argv.includes('--gen')) void generator();
else void gateway();
