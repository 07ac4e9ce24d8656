/**
 * The caller's audio as sent to ASR, kept until the recognizer has accounted
 * for it, so that an ASR socket that dies mid-call can be replaced and fed
 * again with nothing lost. Also maps audio time back to wall-clock time, so
 * that a turn's "speech end" is when the caller's last voiced frame arrived,
 * not when the transcript did.
 */
const BYTES_PER_SECOND = 8000; // µ-law 8 kHz

export class CallerAudio {
  /** Chunks not yet acknowledged, with their byte offset in the call and arrival time. */
  readonly #chunks: Array<{ offset: number; at: number; audio: Buffer }> = [];
  #total = 0;
  #acked = 0;
  readonly #maxBytes: number;

  constructor(maxSeconds = 30) {
    this.#maxBytes = maxSeconds * BYTES_PER_SECOND;
  }

  /** Bytes received in the call so far. */
  get total(): number {
    return this.#total;
  }

  push(audio: Buffer, at: number = performance.now()): void {
    this.#chunks.push({ offset: this.#total, at, audio });
    this.#total += audio.length;
    // Bounded: a recognizer that acknowledges nothing for maxSeconds cannot make us hoard audio.
    while (this.#chunks.length > 1 && this.#total - this.#chunks[0]!.offset - this.#chunks[0]!.audio.length > this.#maxBytes) this.#chunks.shift();
  }

  /** The recognizer has finalized everything up to this call-relative second. */
  acknowledge(seconds: number): void {
    this.#acked = Math.max(this.#acked, Math.floor(seconds * BYTES_PER_SECOND));
    while (this.#chunks.length > 1 && this.#chunks[1]!.offset <= this.#acked) this.#chunks.shift();
  }

  /** Audio from the acknowledged point on, and the call-relative second it starts at. */
  unacknowledged(): { audio: Buffer; startSeconds: number } {
    if (this.#chunks.length === 0) return { audio: Buffer.alloc(0), startSeconds: this.#total / BYTES_PER_SECOND };
    const first = this.#chunks[0]!;
    const from = Math.max(this.#acked, first.offset);
    const all = Buffer.concat(this.#chunks.map((c) => c.audio));
    return { audio: all.subarray(from - first.offset), startSeconds: from / BYTES_PER_SECOND };
  }

  /** When the chunk holding this call-relative second arrived (to a frame's precision: 20 ms from a carrier). */
  arrivalOf(seconds: number): number | undefined {
    const byte = seconds * BYTES_PER_SECOND;
    for (let i = this.#chunks.length - 1; i >= 0; i--) {
      const c = this.#chunks[i]!;
      if (c.offset <= byte) return c.at;
    }
    return undefined;
  }
}
