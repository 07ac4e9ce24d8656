/**
 * The caller's audio as sent to ASR, kept until the recognizer has accounted
 * for it, so that an ASR socket that dies mid-call can be replaced and fed
 * again with nothing lost. Also maps audio time back to wall-clock time, so
 * that a turn's "speech end" is when the caller's last voiced frame arrived,
 * not when the transcript did.
 *
 * Every frame of every call passes through push(): the chunks sit in a ring of
 * parallel arrays (offset, arrival, bytes) that grows by doubling and is never
 * shifted, so a call in steady state allocates nothing here per packet. The
 * buffers are kept as given, not copied: the caller hands over a frame it will
 * not write again.
 */
const BYTES_PER_SECOND = 8000; // µ-law 8 kHz

export class CallerAudio {
  #offsets = new Float64Array(64);
  #arrivals = new Float64Array(64);
  #audio: Array<Buffer | undefined> = new Array<Buffer | undefined>(64).fill(undefined);
  /** Ring index of the oldest chunk kept, and how many are kept; capacity is a power of two. */
  #head = 0;
  #count = 0;
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
    if (this.#count === this.#audio.length) this.#grow();
    const i = (this.#head + this.#count) & (this.#audio.length - 1);
    this.#offsets[i] = this.#total;
    this.#arrivals[i] = at;
    this.#audio[i] = audio;
    this.#count++;
    this.#total += audio.length;
    // Bounded: a recognizer that acknowledges nothing for maxSeconds cannot make us hoard audio.
    while (this.#count > 1 && this.#total - this.#offsets[this.#head]! - this.#audio[this.#head]!.length > this.#maxBytes) this.#dropOldest();
  }

  /** The recognizer has finalized everything up to this call-relative second. */
  acknowledge(seconds: number): void {
    this.#acked = Math.max(this.#acked, Math.floor(seconds * BYTES_PER_SECOND));
    while (this.#count > 1 && this.#offsets[this.#at(1)]! <= this.#acked) this.#dropOldest();
  }

  /** Audio from the acknowledged point on, and the call-relative second it starts at. */
  unacknowledged(): { audio: Buffer; startSeconds: number } {
    if (this.#count === 0) return { audio: Buffer.alloc(0), startSeconds: this.#total / BYTES_PER_SECOND };
    const firstOffset = this.#offsets[this.#head]!;
    const from = Math.max(this.#acked, firstOffset);
    const chunks: Buffer[] = [];
    for (let k = 0; k < this.#count; k++) chunks.push(this.#audio[this.#at(k)]!);
    const all = Buffer.concat(chunks);
    return { audio: all.subarray(from - firstOffset), startSeconds: from / BYTES_PER_SECOND };
  }

  /** When the chunk holding this call-relative second arrived (to a frame's precision: 20 ms from a carrier). */
  arrivalOf(seconds: number): number | undefined {
    const byte = seconds * BYTES_PER_SECOND;
    for (let k = this.#count - 1; k >= 0; k--) {
      const i = this.#at(k);
      if (this.#offsets[i]! <= byte) return this.#arrivals[i];
    }
    return undefined;
  }

  #at(k: number): number {
    return (this.#head + k) & (this.#audio.length - 1);
  }

  #dropOldest(): void {
    this.#audio[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#audio.length - 1);
    this.#count--;
  }

  /** Doubles the ring, oldest chunk first: only while a call's unacknowledged audio is growing. */
  #grow(): void {
    const size = this.#audio.length * 2;
    const offsets = new Float64Array(size);
    const arrivals = new Float64Array(size);
    const audio = new Array<Buffer | undefined>(size).fill(undefined);
    for (let k = 0; k < this.#count; k++) {
      const i = this.#at(k);
      offsets[k] = this.#offsets[i]!;
      arrivals[k] = this.#arrivals[i]!;
      audio[k] = this.#audio[i];
    }
    this.#offsets = offsets;
    this.#arrivals = arrivals;
    this.#audio = audio;
    this.#head = 0;
  }
}
