import { writeRtpHeader } from '../../media/index.js';

/** What a bench WebRTC caller received of the agent's RTP: a count, when the first came, and loss by sequence number (RFC 3550 A.3). */
export class ReceivedRtp {
  received = 0;
  firstAudioAt: number | undefined;
  #baseSeq = -1;
  #maxSeq = -1;
  #cycles = 0;

  note(seq: number): void {
    this.received++;
    this.firstAudioAt ??= performance.now();
    if (this.#baseSeq < 0) this.#baseSeq = this.#maxSeq = seq;
    else if (((seq - this.#maxSeq) & 0xffff) < 3000) {
      if (seq < this.#maxSeq) this.#cycles += 0x10000;
      this.#maxSeq = seq;
    }
  }

  get lost(): number {
    if (this.#baseSeq < 0) return 0;
    return Math.max(0, this.#cycles + this.#maxSeq - this.#baseSeq + 1 - this.received);
  }
}

/** A bench WebRTC caller's own µ-law stream (PT 0): one packet buffer, re-stamped for every 20 ms frame. */
export class SentRtp {
  readonly ssrc = (Math.random() * 0xffffffff) >>> 0;
  #seq = 0;
  #ts = 0;
  readonly #pkt = Buffer.alloc(12 + 160, 0xff);

  /** The next frame's packet (`payload`'s 160 bytes, or the last ones sent); valid until the next call. */
  next(payload?: Buffer): Buffer {
    writeRtpHeader(this.#pkt, 0, this.#seq === 0, this.#seq, this.#ts, this.ssrc);
    if (payload) payload.copy(this.#pkt, 12, 0, 160);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + 160) >>> 0;
    return this.#pkt;
  }
}
