/**
 * Fixed-depth inbound reorder buffer keyed by RTP sequence number. Holds up to `depth`
 * frames (3 × 20 ms = 60 ms by default); a frame is released when it is next in order or
 * when the buffer is full (then the gap is declared lost). Duplicates and packets older than
 * the last released one are dropped and counted.
 */
export interface JitterStats {
  delivered: number;
  lost: number;
  duplicates: number;
  late: number;
}

export class JitterBuffer {
  private readonly slots = new Map<number, Buffer>();
  private next = -1;
  readonly stats: JitterStats = { delivered: 0, lost: 0, duplicates: 0, late: 0 };

  /**
   * @param onFrame receives payloads in order; `lost` frames are passed as null (or as the
   *   fill frame when `fill` is given) so the ASR feed keeps its timing.
   */
  constructor(
    private readonly onFrame: (payload: Buffer | null, seq: number) => void,
    private readonly depth = 3,
    private readonly fill: Buffer | null = null,
  ) {}

  push(seq: number, payload: Buffer): void {
    if (this.next < 0) this.next = seq;
    const d = (seq - this.next) << 16 >> 16; // signed 16-bit distance, wraps at 65536
    if (d < 0) {
      this.stats.late++;
      return;
    }
    if (this.slots.has(seq)) {
      this.stats.duplicates++;
      return;
    }
    if (d > 1000) {
      // A jump this big is a new talk source or a sender restart, not loss: resync.
      this.flushAll();
      this.next = seq;
    }
    this.slots.set(seq, payload);
    this.drain();
  }

  private drain(): void {
    for (;;) {
      const p = this.slots.get(this.next);
      if (p !== undefined) {
        this.slots.delete(this.next);
        this.stats.delivered++;
        const s = this.next;
        this.next = (this.next + 1) & 0xffff;
        this.onFrame(p, s);
        continue;
      }
      if (this.slots.size < this.depth) return;
      this.stats.lost++;
      const s = this.next;
      this.next = (this.next + 1) & 0xffff;
      this.onFrame(this.fill, s);
    }
  }

  /** Releases what is held, declaring gaps lost (end of talkspurt, close). */
  flushAll(): void {
    while (this.slots.size > 0) {
      const p = this.slots.get(this.next);
      const s = this.next;
      this.next = (this.next + 1) & 0xffff;
      if (p !== undefined) {
        this.slots.delete(s);
        this.stats.delivered++;
        this.onFrame(p, s);
      } else {
        this.stats.lost++;
        this.onFrame(this.fill, s);
      }
    }
  }
}
