/**
 * Micro-benchmark for the gateway's send path alone: CALLS RtpSessions latched to a sink
 * process, frames pushed through Pacer.tickNow() in bounded rounds; prints CPU µs per frame.
 * Run: npx tsx bench/support/media-sendcost.ts  (env CALLS, ROUNDS)
 */
import dgram from 'node:dgram';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RtpSession, Pacer, PacedStream } from '../../media/index.js';

const CALLS = Number(process.env.CALLS ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 200);
const BASE = Number(process.env.BASE_PORT ?? 63000);

if (process.argv[2] === 'sink') {
  const s = dgram.createSocket('udp4');
  let n = 0;
  s.on('message', () => n++);
  s.bind(0, '127.0.0.1', () => {
    s.setRecvBufferSize(4 << 20);
    process.send!(s.address().port);
  });
  process.on('message', () => process.send!(n, () => process.exit(0)));
} else {
  const child = fork(fileURLToPath(import.meta.url), ['sink'], { execArgv: process.execArgv });
  const sinkPort = await new Promise<number>((r) => child.once('message', (m) => r(m as number)));
  const pacer = new Pacer();
  const sessions: RtpSession[] = [];
  const streams: PacedStream[] = [];
  for (let i = 0; i < CALLS; i++) {
    const s = await RtpSession.open({ port: BASE + 2 * i, bindAddress: '127.0.0.1', payloadType: 0, remote: { address: '127.0.0.1', port: sinkPort }, rtcpIntervalMs: 0 });
    const st = new PacedStream(s, true);
    pacer.add(st);
    sessions.push(s);
    streams.push(st);
  }
  pacer.stop();
  const c0 = process.cpuUsage();
  for (let r = 0; r < ROUNDS; r++) {
    pacer.tickNow();
    await new Promise((res) => setTimeout(res, 2));
  }
  const c = process.cpuUsage(c0);
  const frames = CALLS * ROUNDS;
  await new Promise((res) => setTimeout(res, 200));
  child.send('count');
  const got = await new Promise<number>((r) => child.once('message', (m) => r(m as number)));
  console.log(`send path: user ${(c.user / frames).toFixed(2)} µs + sys ${(c.system / frames).toFixed(2)} µs per frame; sink got ${got}/${frames}`);
  for (const s of sessions) s.close();
  process.exit(0);
}
