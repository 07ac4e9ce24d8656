/**
 * One pacer for every call: a single drift-corrected clock that, each 20 ms tick, hands every
 * active stream its next 160-octet µ-law frame. Per-call timers would be thousands of timers
 * drifting independently; one loop keeps sends in phase and measurable.
 */
export const FRAME_BYTES = 160;
export const FRAME_MS = 20;

export interface PacedSink {
  /** frame is only valid during the call (the buffer is reused); silent = nothing queued */
  sendFrame(frame: Buffer | null, marker: boolean): void;
}

export class PacedStream {
  private readonly chunks: Buffer[] = [];
  private offset = 0;
  private queued = 0;
  private readonly frame = Buffer.allocUnsafe(FRAME_BYTES);
  private talking = false;
  closed = false;

  constructor(readonly sink: PacedSink, readonly comfortSilence = false) {}

  get queuedBytes(): number {
    return this.queued;
  }

  enqueue(ulaw: Buffer): void {
    if (this.closed || ulaw.length === 0) return;
    this.chunks.push(ulaw);
    this.queued += ulaw.length;
  }

  /** Barge-in: drop everything queued at once. */
  flush(): void {
    this.chunks.length = 0;
    this.offset = 0;
    this.queued = 0;
  }

  /** Called by the pacer. A partial final frame is padded with µ-law silence. */
  tick(): void {
    if (this.queued === 0) {
      this.talking = false;
      this.sink.sendFrame(this.comfortSilence ? this.frame.fill(0xff) : null, false);
      return;
    }
    let w = 0;
    while (w < FRAME_BYTES && this.chunks.length > 0) {
      const c = this.chunks[0]!;
      const n = Math.min(FRAME_BYTES - w, c.length - this.offset);
      c.copy(this.frame, w, this.offset, this.offset + n);
      w += n;
      this.offset += n;
      if (this.offset === c.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.queued -= w;
    if (w < FRAME_BYTES) this.frame.fill(0xff, w);
    // RFC 3551 §4.1: the marker bit is set on the first packet of a talkspurt.
    const marker = !this.talking;
    this.talking = true;
    this.sink.sendFrame(this.frame, marker);
  }
}

export interface PacerStats {
  ticks: number;
  streams: number;
  /** |actual tick time − ideal tick time| in ms, last up to 4096 ticks */
  jitterP50Ms: number;
  jitterP99Ms: number;
  jitterMaxMs: number;
  missedTicks: number;
}

export class Pacer {
  private readonly streams = new Set<PacedStream>();
  private timer: NodeJS.Timeout | null = null;
  private start = 0;
  private n = 0;
  private readonly lateness = new Float64Array(4096);
  private samples = 0;
  private missed = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  add(stream: PacedStream): void {
    this.streams.add(stream);
    if (!this.timer) this.begin();
  }

  remove(stream: PacedStream): void {
    stream.closed = true;
    this.streams.delete(stream);
    if (this.streams.size === 0) this.stop();
  }

  private begin(): void {
    this.start = this.now();
    this.n = 0;
    this.schedule();
  }

  private schedule(): void {
    // setTimeout fires late, never early; aim ~1 ms before the ideal time and spin-free
    // correct on the next tick (the ideal clock is start + n·20 ms, so error never accumulates).
    const due = this.start + (this.n + 1) * FRAME_MS;
    this.timer = setTimeout(this.onTimer, Math.max(0, due - this.now() - 1));
  }

  private readonly onTimer = (): void => {
    this.n++;
    let ideal = this.start + this.n * FRAME_MS;
    const t = this.now();
    if (t - ideal >= FRAME_MS) {
      // The event loop stalled for whole frames: skip them (counted) instead of replaying them
      // back to back, which would burst at the peer and could never catch up under load.
      const behind = Math.floor((t - ideal) / FRAME_MS);
      this.missed += behind;
      this.n += behind;
      ideal += behind * FRAME_MS;
    }
    this.lateness[this.samples++ % this.lateness.length] = Math.abs(t - ideal);
    for (const s of this.streams) s.tick();
    if (this.streams.size > 0) this.schedule();
    else this.timer = null;
  };

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Runs one tick by hand (tests, or a host that owns the clock). */
  tickNow(): void {
    for (const s of this.streams) s.tick();
  }

  /** Starts a fresh measurement window (e.g. after warm-up). */
  resetStats(): void {
    this.samples = 0;
    this.missed = 0;
  }

  stats(): PacerStats {
    const n = Math.min(this.samples, this.lateness.length);
    const sorted = Array.from(this.lateness.subarray(0, n)).sort((a, b) => a - b);
    const q = (p: number): number => (n === 0 ? 0 : sorted[Math.min(n - 1, Math.floor(p * n))]!);
    return { ticks: this.samples, streams: this.streams.size, jitterP50Ms: q(0.5), jitterP99Ms: q(0.99), jitterMaxMs: n ? sorted[n - 1]! : 0, missedTicks: this.missed };
  }
}
