import { PacedStream, ulawToAlaw, type PacedSink } from '../../media/index.js';

/**
 * The agent's voice on its way to the caller: a PacedStream the shared pacer
 * drains every 20 ms into the call's RTP session. TTS already speaks µ-law, so
 * a PCMU call sends its bytes untouched; a PCMA call is converted per frame in
 * place (a table lookup, no resampling).
 *
 * It also tells the agent what the caller actually heard: the first frame of
 * a talkspurt (the turn's "first RTP out") and when the queue ran dry
 * (playback done: until then the caller can barge in).
 */
export class Playout implements PacedSink {
  readonly stream: PacedStream;
  /** False while the peer holds the call (its SDP says it receives nothing). */
  sending = true;
  #drainWaiters: Array<() => void> = [];
  #frames = 0;

  constructor(
    private readonly rtp: PacedSink,
    private readonly alaw: boolean,
    private readonly onTalkspurt: () => void,
  ) {
    this.stream = new PacedStream(this);
  }

  /** Frames sent so far (each 20 ms of agent audio). */
  get framesSent(): number {
    return this.#frames;
  }

  enqueue(ulaw: Buffer): void {
    this.stream.enqueue(ulaw);
  }

  /** Barge-in: nothing queued is played, and whoever waits for playback stops waiting. */
  flush(): void {
    this.stream.flush();
    this.#resolveDrained();
  }

  /** Resolves once everything enqueued so far has gone out as RTP. */
  drained(): Promise<void> {
    if (this.stream.queuedBytes === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  sendFrame(frame: Buffer | null, marker: boolean): void {
    if (frame && this.sending) {
      if (this.alaw) ulawToAlaw(frame, frame);
      this.rtp.sendFrame(frame, marker);
      this.#frames++;
      if (marker) this.onTalkspurt();
    } else {
      // Keeps the RTP timestamp running through silence and hold.
      this.rtp.sendFrame(null, false);
    }
    if (this.stream.queuedBytes === 0) this.#resolveDrained();
  }

  #resolveDrained(): void {
    if (this.#drainWaiters.length === 0) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const w of waiters) w();
  }
}
