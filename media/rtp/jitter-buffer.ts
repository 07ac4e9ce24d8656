/**
 * Fixed-depth inbound reorder buffer keyed by RTP sequence number. Holds up to `depth`
 * frames (3 × 20 ms = 60 ms by default); a frame is released when it is next in order or
 * when the buffer is full (then the gap is declared lost). Duplicates and packets older than
 * the last released one are dropped and counted.
 *
 * Storage is a power-of-two ring indexed by `seq & mask` rather than a Map: every inbound
 * packet of every call passes through here, and a ring costs no allocation per packet.
 */
export interface JitterStats {
  delivered: number;
  lost: number;
  duplicates: number;
  late: number;
}

export class JitterBuffer {
  private readonly ring: (Buffer | undefined)[];
  private readonly mask: number;
  private held = 0;
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
  ) {
    let size = 8;
    while (size <= depth) size <<= 1;
    this.ring = new Array<Buffer | undefined>(size).fill(undefined);
    this.mask = size - 1;
  }

  push(seq: number, payload: Buffer): void {
    if (this.next < 0) this.next = seq;
    let d = (seq - this.next) << 16 >> 16; // signed 16-bit distance, wraps at 65536
    if (d < 0) {
      this.stats.late++;
      return;
    }
    if (d > 1000) {
      // A jump this big is a new talk source or a sender restart, not loss: resync.
      this.flushAll();
      this.next = seq;
      d = 0;
    }
    // Ahead of what the ring can hold: declare the oldest gaps lost until it fits.
    while (d > this.mask) {
      this.releaseOne();
      d--;
    }
    const i = seq & this.mask;
    if (this.ring[i] !== undefined) {
      this.stats.duplicates++;
      return;
    }
    this.ring[i] = payload;
    this.held++;
    this.drain();
  }

  /** Releases `next`: its frame if held, else a loss. */
  private releaseOne(): void {
    const s = this.next;
    const i = s & this.mask;
    const p = this.ring[i];
    this.next = (s + 1) & 0xffff;
    if (p !== undefined) {
      this.ring[i] = undefined;
      this.held--;
      this.stats.delivered++;
      this.onFrame(p, s);
    } else {
      this.stats.lost++;
      this.onFrame(this.fill, s);
    }
  }

  private drain(): void {
    for (;;) {
      if (this.ring[this.next & this.mask] !== undefined) this.releaseOne();
      else if (this.held >= this.depth) this.releaseOne();
      else return;
    }
  }

  /** Releases what is held, declaring gaps lost (end of talkspurt, close). */
  flushAll(): void {
    while (this.held > 0) this.releaseOne();
  }
}
