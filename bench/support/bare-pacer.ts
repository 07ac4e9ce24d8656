/**
 * bench:media baseline — what bare Node dgram does on this machine at the same moment, with the
 * same calls, schedule and CPU pinning as the gateway side, but none of our media stack: no
 * RtpSession (no validation, latching rules, RTCP or receiver statistics), no jitter buffer, no
 * PacedStream queue, no G.711. Per call one UDP socket; inbound datagrams are only counted; each
 * call sends one prebuilt 172-octet packet per 20 ms from its first inbound packet on.
 *
 * The schedule is the gateway pacer's, rebuilt here by hand so the comparison is like for like:
 * 40 phases of the 20 ms frame filled 32 calls at a time (then the least loaded one), one
 * drift-corrected clock (ideal time start + k · 0.5 ms), setTimeout to within a millisecond and
 * setImmediate after, and a clock check on every inbound datagram (the gateway polls its pacer
 * from the receive path too). Send jitter is measured as the pacer measures it: per frame, the
 * time just before the send minus the slot's ideal time.
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { SendJitterHistogram } from '../../media/pacer-histogram.js';

const FRAME_MS = 20;
const SLOTS = 40;
const SLOT_TARGET = 32;
const SPIN_BELOW = 256;

type LookupCallback = (err: Error | null, address: string, family: number) => void;
/** The loopback literal answered at once, as RtpSession does: dgram would otherwise ask dns.lookup per send. */
function literal(address: string, _family: unknown, cb: LookupCallback): void {
  cb(null, address, isIP(address) || 4);
}

export interface BareStats {
  frames: number;
  sendJitterP50Ms: number;
  sendJitterP99Ms: number;
  sendJitterMaxMs: number;
  missedTicks: number;
}

export class BarePacer {
  readonly ports: number[] = [];
  received = 0;
  sent = 0;
  readonly #socks: dgram.Socket[] = [];
  readonly #pkts: Buffer[][] = [];
  readonly #peerPort: Int32Array;
  readonly #seq: Uint16Array;
  readonly #slots: number[][] = Array.from({ length: SLOTS }, () => []);
  readonly #jitter = new SendJitterHistogram();
  #missed = 0;
  #start = 0;
  #next = 0;
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  #sending = true;
  #running = false;

  private constructor(calls: number) {
    this.#peerPort = new Int32Array(calls).fill(-1);
    this.#seq = new Uint16Array(calls);
  }

  static async open(calls: number, basePort: number, payloadType: number): Promise<BarePacer> {
    const b = new BarePacer(calls);
    for (let c = 0; c < calls; c++) {
      const s = dgram.createSocket({ type: 'udp4', lookup: literal });
      const port = basePort + c * 2;
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.bind(port, '127.0.0.1', () => res());
      });
      s.on('error', () => undefined);
      s.on('message', (_m, r) => b.#onMessage(c, r.port));
      b.#socks.push(s);
      b.ports.push(port);
      b.#pkts.push([0, 1].map(() => {
        const p = Buffer.alloc(172, 0xff);
        p[0] = 0x80;
        p[1] = payloadType;
        p.writeUInt32BE((0x20000 + c) >>> 0, 8);
        return p;
      }));
      // The gateway pacer's placement: the fullest slot under the target, else the least loaded.
      let best = -1;
      for (let i = 0; i < SLOTS; i++) {
        const n = b.#slots[i]!.length;
        if (n < SLOT_TARGET && (best < 0 || n > b.#slots[best]!.length)) best = i;
      }
      if (best < 0) {
        best = 0;
        for (let i = 1; i < SLOTS; i++) if (b.#slots[i]!.length < b.#slots[best]!.length) best = i;
      }
      b.#slots[best]!.push(c);
    }
    b.#start = performance.now();
    b.#schedule();
    return b;
  }

  #onMessage(c: number, port: number): void {
    this.received++;
    if (this.#peerPort[c]! < 0) this.#peerPort[c] = port;
    this.#poll();
  }

  #poll(): void {
    if (performance.now() >= this.#start + this.#next * (FRAME_MS / SLOTS) - 0.02) this.#runDue();
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
    if (!this.#sending) return;
    for (let k = 0; k < SLOTS && this.#slots[this.#next % SLOTS]!.length === 0; k++) this.#next++;
    const wait = this.#start + this.#next * (FRAME_MS / SLOTS) - performance.now();
    const spin = this.ports.length < SPIN_BELOW ? 0.6 : 0;
    if (wait > spin + 0.05) this.#timer = setTimeout(this.#onTimer, Math.max(1, wait - spin));
    else this.#immediate = setImmediate(this.#onTimer);
  }

  readonly #onTimer = (): void => {
    this.#timer = null;
    this.#immediate = null;
    this.#poll();
    this.#schedule();
  };

  #runDue(): void {
    if (this.#running || !this.#sending) return;
    this.#running = true;
    const slotMs = FRAME_MS / SLOTS;
    let t = performance.now();
    let ideal = this.#start + this.#next * slotMs;
    if (t - ideal >= FRAME_MS) {
      const behind = Math.floor((t - ideal) / FRAME_MS);
      this.#missed += behind;
      this.#next += behind * SLOTS;
      ideal += behind * FRAME_MS;
    }
    for (let k = 0; k < SLOTS && t >= ideal - 0.02; k++) {
      const frame = Math.floor(this.#next / SLOTS);
      const list = this.#slots[this.#next % SLOTS]!;
      this.#next++;
      for (let i = 0; i < list.length; i++) {
        const c = list[i]!;
        const port = this.#peerPort[c]!;
        if (port < 0) continue;
        const at = performance.now();
        const p = this.#pkts[c]![frame & 1]!;
        const seq = this.#seq[c]!;
        this.#seq[c] = seq + 1;
        p[2] = seq >> 8;
        p[3] = seq & 0xff;
        p.writeUInt32BE((frame * 160) >>> 0, 4);
        this.#socks[c]!.send(p, port, '127.0.0.1');
        this.sent++;
        this.#jitter.record(at - ideal);
      }
      t = performance.now();
      ideal = this.#start + this.#next * slotMs;
    }
    this.#running = false;
  }

  resetStats(): void {
    this.#jitter.reset();
    this.#missed = 0;
  }

  stats(): BareStats {
    const h = this.#jitter;
    return { frames: h.count, sendJitterP50Ms: h.quantile(0.5), sendJitterP99Ms: h.quantile(0.99), sendJitterMaxMs: h.max, missedTicks: this.#missed };
  }

  stopSending(): void {
    this.#sending = false;
    this.#schedule();
  }

  close(): void {
    this.stopSending();
    for (const s of this.#socks) s.close();
  }
}
