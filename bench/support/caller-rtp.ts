/** What a bench caller received of the agent's RTP: a count, when the first came, and loss by sequence number (RFC 3550 A.3). */
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
