/**
 * The caller's audio as sent to ASR, kept until the recognizer has accounted
 * for it, so that an ASR socket that dies mid-call can be replaced and fed
 * again with nothing lost. Also maps audio time back to wall-clock time, so
 * that a turn's "speech end" is when the caller's last voiced frame arrived,
 * not when the transcript did.
 *
 * Every frame of every call passes through push(), so nothing here allocates
 * per packet in steady state, and nothing per packet is kept alive: the bytes
 * are copied into one byte ring (a byte at call offset o lives at o mod the
 * capacity) and each chunk is two numbers (offset, arrival) in a ring of
 * typed arrays. Both rings double when unacknowledged audio outgrows them and
 * are never shifted. Holding the received buffers themselves would keep
 * thousands of small objects per call alive for seconds, for the GC to trace.
 */
const BYTES_PER_SECOND = 8000; // µ-law 8 kHz

export class CallerAudio {
  #bytes: Buffer = Buffer.alloc(8192);
  /** Per chunk, in a ring: its byte offset in the call and its arrival time. */
  #offsets = new Float64Array(64);
  #arrivals = new Float64Array(64);
  /** Ring index of the oldest chunk kept, and how many are kept; capacities are powers of two. */
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

  /** Copies `audio` in: the caller may reuse its buffer. */
  push(audio: Buffer, at: number = performance.now()): void {
    if (this.#count === this.#offsets.length) this.#growChunks();
    const held = this.#count > 0 ? this.#total - this.#offsets[this.#head]! : 0;
    if (held + audio.length > this.#bytes.length) this.#growBytes(held + audio.length);
    const i = (this.#head + this.#count) & (this.#offsets.length - 1);
    this.#offsets[i] = this.#total;
    this.#arrivals[i] = at;
    this.#count++;
    const cap = this.#bytes.length;
    const at0 = this.#total & (cap - 1);
    if (at0 + audio.length <= cap) this.#bytes.set(audio, at0);
    else {
      audio.copy(this.#bytes, at0, 0, cap - at0);
      audio.copy(this.#bytes, 0, cap - at0);
    }
    this.#total += audio.length;
    // Bounded: a recognizer that acknowledges nothing for maxSeconds cannot make us hoard audio.
    while (this.#count > 1 && this.#total - this.#offsets[this.#at(1)]! > this.#maxBytes) this.#dropOldest();
  }

  /** The recognizer has finalized everything up to this call-relative second. */
  acknowledge(seconds: number): void {
    this.#acked = Math.max(this.#acked, Math.floor(seconds * BYTES_PER_SECOND));
    while (this.#count > 1 && this.#offsets[this.#at(1)]! <= this.#acked) this.#dropOldest();
  }

  /** Audio from the acknowledged point on (a copy), and the call-relative second it starts at. */
  unacknowledged(): { audio: Buffer; startSeconds: number } {
    if (this.#count === 0) return { audio: Buffer.alloc(0), startSeconds: this.#total / BYTES_PER_SECOND };
    const from = Math.max(this.#acked, this.#offsets[this.#head]!);
    const out = Buffer.allocUnsafe(this.#total - from);
    const cap = this.#bytes.length;
    const start = from & (cap - 1);
    const first = Math.min(out.length, cap - start);
    this.#bytes.copy(out, 0, start, start + first);
    if (first < out.length) this.#bytes.copy(out, first, 0, out.length - first);
    return { audio: out, startSeconds: from / BYTES_PER_SECOND };
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
    return (this.#head + k) & (this.#offsets.length - 1);
  }

  #dropOldest(): void {
    this.#head = (this.#head + 1) & (this.#offsets.length - 1);
    this.#count--;
  }

  /** Doubles the chunk ring, oldest first: only while a call's unacknowledged audio is growing. */
  #growChunks(): void {
    const size = this.#offsets.length * 2;
    const offsets = new Float64Array(size);
    const arrivals = new Float64Array(size);
    for (let k = 0; k < this.#count; k++) {
      const i = this.#at(k);
      offsets[k] = this.#offsets[i]!;
      arrivals[k] = this.#arrivals[i]!;
    }
    this.#offsets = offsets;
    this.#arrivals = arrivals;
    this.#head = 0;
  }

  /** Doubles the byte ring until `need` bytes fit, each held byte moving to its offset's new place. */
  #growBytes(need: number): void {
    let cap = this.#bytes.length * 2;
    while (cap < need) cap *= 2;
    const next = Buffer.alloc(cap);
    const from = this.#count > 0 ? this.#offsets[this.#head]! : this.#total;
    const old = this.#bytes.length;
    for (let o = from; o < this.#total; ) {
      const src = o & (old - 1);
      const dst = o & (cap - 1);
      const n = Math.min(this.#total - o, old - src, cap - dst);
      this.#bytes.copy(next, dst, src, src + n);
      o += n;
    }
    this.#bytes = next;
  }
}
