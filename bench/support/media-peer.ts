/**
 * bench:media load peer — a separate process playing the carrier side of many calls, so its
 * CPU is not the gateway's. It sends 50 pps of µ-law per call, each call at its own phase of
 * the 20 ms frame (real calls are not in step), from a few sockets with large receive buffers,
 * and measures what the gateway sends back:
 *  - loss by RTP sequence number per call (RFC 3550 A.3: expected − received), plus the count
 *    the gateway says it sent (packets lost at the tail have no later sequence number);
 *  - packet delay variation per RFC 5481 (PDV): each packet's arrival minus its ideal time on the
 *    sender's 20 ms grid (taken from the RTP timestamp, which the gateway advances by 160 every
 *    frame even when silent), relative to the call's fastest packet.
 *
 * Driven over IPC by bench/media.ts: init → 'ready'; 'start'; 'measure' (start of the measured
 * window); 'stop' (stop sending, keep receiving); 'report' → PeerResult.
 */
import dgram from 'node:dgram';
import { writeRtpHeader } from '../../media/index.js';

export interface PeerInit {
  type: 'init';
  /** gateway RTP ports, one per call */
  ports: number[];
  sockets: number;
  /** bound on stored PDV samples (memory), e.g. calls · 50 · seconds */
  maxSamples: number;
  /** RTP payload type to send (0 PCMU, 8 PCMA); the payload is that codec's silence-ish constant */
  payloadType: number;
}

export interface PeerResult {
  type: 'result';
  calls: number;
  sent: number;
  sentMeasured: number;
  received: number;
  /** Σ per call (highest seq − first seq + 1 − received), never negative */
  lostBySeq: number;
  duplicates: number;
  pdvSamples: number;
  pdvP50Ms: number;
  pdvP99Ms: number;
  pdvP999Ms: number;
  pdvMaxMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  sendLateP99Ms: number;
}

const FRAME_MS = 20;
const PHASES = 20; // one send phase per millisecond of the frame

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(init: PeerInit): Promise<void> {
  const n = init.ports.length;
  const socks: dgram.Socket[] = [];
  // Per call receive state in typed arrays: 50 000 packets a second land here.
  const callOfPort = new Int32Array(65536).fill(-1);
  init.ports.forEach((p, i) => (callOfPort[p] = i));
  const baseSeq = new Int32Array(n).fill(-1);
  const maxExt = new Float64Array(n);
  const received = new Float64Array(n);
  const ts0 = new Float64Array(n).fill(-1);
  const t0 = new Float64Array(n);
  const minDev = new Float64Array(n).fill(Infinity);
  const sampleCall = new Int32Array(init.maxSamples);
  const sampleDev = new Float64Array(init.maxSamples);
  let samples = 0;
  let measuring = false;
  let duplicatesOrOld = 0;

  const onMessage = (m: Buffer, r: dgram.RemoteInfo): void => {
    const at = performance.now();
    const c = callOfPort[r.port]!;
    if (c < 0 || m.length < 12) return;
    received[c]!++;
    const seq = m.readUInt16BE(2);
    const ts = m.readUInt32BE(4);
    if (baseSeq[c]! < 0) {
      baseSeq[c] = seq;
      maxExt[c] = seq;
      ts0[c] = ts;
      t0[c] = at;
    } else {
      // extend the 16-bit sequence number around the current maximum
      const max = maxExt[c]!;
      const d = ((seq - (max % 65536)) << 16) >> 16;
      if (d > 0) maxExt[c] = max + d;
      else duplicatesOrOld++;
    }
    // Ideal arrival of this packet on the sender's grid, anchored at the call's first packet.
    const dts = ((ts - ts0[c]!) | 0) / 8; // signed 32-bit difference, 8 samples per ms
    const dev = at - t0[c]! - dts;
    if (dev < minDev[c]!) minDev[c] = dev;
    if (measuring && samples < sampleDev.length) {
      sampleCall[samples] = c;
      sampleDev[samples++] = dev;
    }
  };

  for (let i = 0; i < init.sockets; i++) {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((res) => s.bind(0, '127.0.0.1', () => res()));
    // 50 000 pps into a handful of sockets: the default ~208 KiB queue overflows in one stall.
    s.setRecvBufferSize(4 << 20);
    s.setSendBufferSize(4 << 20);
    s.on('message', onMessage);
    socks.push(s);
  }

  // Sending: call i at phase i mod 20 ms, from socket i mod S, its own SSRC/seq/timestamp.
  // Two packet buffers per call, alternating: should a send ever be queued instead of copied
  // into the kernel at once, its bytes stay untouched for 40 ms (a shared ring would hand the
  // buffer to the next call in the same burst and corrupt the queued packet).
  const pkts = Array.from({ length: n * 2 }, () => Buffer.alloc(172, init.payloadType === 8 ? 0xd5 : 0x55));
  let sent = 0;
  let sentMeasured = 0;
  let start = 0;
  let k = 0; // next phase tick, ideal time start + k ms
  let running = false;
  let timer: NodeJS.Timeout | null = null;
  const lateness: number[] = [];
  const tick = (): void => {
    timer = null;
    if (!running) return;
    const now = performance.now();
    const ideal = start + k * (FRAME_MS / PHASES);
    if (now < ideal - 0.02) {
      timer = setTimeout(tick, Math.max(1, ideal - now - 0.5));
      return;
    }
    // Catch up every phase that is due, bounded so a stall cannot become an endless burst.
    for (let guard = 0; guard < PHASES && performance.now() >= start + k * (FRAME_MS / PHASES) - 0.02; guard++) {
      if (measuring && lateness.length < 1_000_000) lateness.push(performance.now() - (start + k * (FRAME_MS / PHASES)));
      const phase = k % PHASES;
      const frame = Math.floor(k / PHASES);
      for (let c = phase; c < n; c += PHASES) {
        const b = pkts[c * 2 + (frame & 1)]!;
        writeRtpHeader(b, init.payloadType, frame === 0, frame & 0xffff, (frame * 160) >>> 0, 0x10000 + c);
        socks[c % socks.length]!.send(b, init.ports[c]!, '127.0.0.1');
        sent++;
        if (measuring) sentMeasured++;
      }
      k++;
    }
    const wait = start + k * (FRAME_MS / PHASES) - performance.now();
    timer = wait > 1.2 ? setTimeout(tick, wait - 0.5) : (setImmediate(tick) as unknown as NodeJS.Timeout);
  };

  let cpu0 = process.cpuUsage();
  let cpu = process.cpuUsage(cpu0);
  process.on('message', (msg: { type: string }) => {
    if (msg.type === 'start') {
      running = true;
      start = performance.now();
      tick();
    } else if (msg.type === 'measure') {
      measuring = true;
      cpu0 = process.cpuUsage();
    } else if (msg.type === 'stop') {
      running = false;
      cpu = process.cpuUsage(cpu0);
      if (timer) clearTimeout(timer);
      measuring = false;
    } else if (msg.type === 'report') {
      // The gateway has stopped its pacer by now, so every packet it sent has had time to land.
      {
        for (const s of socks) s.close();
        let lost = 0;
        let rx = 0;
        for (let c = 0; c < n; c++) {
          rx += received[c]!;
          if (baseSeq[c]! >= 0) lost += Math.max(0, maxExt[c]! - baseSeq[c]! + 1 - received[c]!);
        }
        const pdv = new Float64Array(samples);
        for (let i = 0; i < samples; i++) pdv[i] = sampleDev[i]! - minDev[sampleCall[i]!]!;
        pdv.sort();
        const late = Float64Array.from(lateness).sort();
        const res: PeerResult = {
          type: 'result', calls: n, sent, sentMeasured, received: rx, lostBySeq: lost, duplicates: duplicatesOrOld,
          pdvSamples: samples, pdvP50Ms: quantile(pdv, 0.5), pdvP99Ms: quantile(pdv, 0.99), pdvP999Ms: quantile(pdv, 0.999),
          pdvMaxMs: samples ? pdv[samples - 1]! : 0, cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000,
          sendLateP99Ms: quantile(late, 0.99),
        };
        process.send!(res, () => process.exit(0));
      }
    }
  });
  process.send!({ type: 'ready' });
}

process.once('message', (m: PeerInit) => void main(m));
