import type { Logger } from '../log.js';
import type { Lease, LeaseSource } from '../pools/index.js';
import type { ElevenLabsConnection, TtsContext } from '../upstreams/index.js';
import { apologyClip } from './apology-clip.js';
import type { TurnTimeline } from './turn-timeline.js';

export interface TurnVoiceOptions {
  tts: LeaseSource<ElevenLabsConnection>;
  /** The turn's: aborting it stops any acquisition under way. */
  signal: AbortSignal;
  timeline: TurnTimeline;
  log: Logger;
  /** µ-law audio for the caller, from whichever socket speaks now (or the clip). */
  onAudio(ulaw: Buffer): void;
  /** Sockets tried after a loss before the pre-rendered clip. Default 2. */
  maxReplacements?: number;
}

/** Said on the fresh socket when the caller already heard part of the reply from the lost one. */
export const REPLACEMENT_APOLOGY = 'Sorry, let me say that again.';

/**
 * One turn's speech, surviving the loss of its TTS socket.
 *
 * Everything the turn said is kept as text. When the socket dies before the
 * generation finished, a fresh lease is taken from the (warm) pool and the
 * whole text is spoken again on it, after a short apology if the caller had
 * already heard part of it; text still arriving from the LLM follows on the
 * new socket. The whole text, not "the rest": the TTS stream does not say
 * which words the audio received so far covered (no alignment is asked for),
 * and repeating a phrase the caller heard is better than skipping words
 * they did not. Audio already received stays queued for the caller.
 *
 * Bounded: after `maxReplacements` sockets (each within the pool's own
 * acquire timeout) or if no socket can be had for the turn at all, the
 * apology clip rendered at boot is played from memory and the turn's speech
 * ends there (`fellBack`).
 */
export class TurnVoice {
  readonly #o: TurnVoiceOptions;
  #lease: Lease<ElevenLabsConnection> | undefined;
  #ctx: TtsContext | undefined;
  readonly #said: string[] = [];
  #flushRequested = false;
  #synthesized = false;
  #heard = false;
  #closed = false;
  #replacements = 0;
  #fellBack = false;
  #settle!: () => void;
  readonly #done = new Promise<void>((resolve) => { this.#settle = resolve; });

  constructor(o: TurnVoiceOptions) {
    this.#o = o;
  }

  /** True once the clip replaced the turn's speech: the reply was not heard. */
  get fellBack(): boolean {
    return this.#fellBack;
  }

  /** Sockets taken after a loss in this turn. */
  get replacements(): number {
    return this.#replacements;
  }

  /** Takes the turn's first socket; with none to be had, the caller hears the clip instead. */
  async open(): Promise<void> {
    try {
      const lease = await this.#o.tts.acquire({ signal: this.#o.signal });
      this.#o.timeline.acquired('tts', lease.acquireMs, lease.waited);
      this.#attach(lease);
    } catch (err) {
      if (this.#closed || this.#o.signal.aborted) return;
      // The pool already waited its bounded time for a socket: another try would only double the silence.
      this.#o.log.error({ err }, 'no TTS connection for the turn: playing the apology clip');
      this.#fallBack();
    }
  }

  speak(text: string): void {
    if (this.#closed || this.#fellBack || text === '') return;
    this.#said.push(text);
    this.#ctx?.speak(text);
  }

  /** Asks for everything said so far; resolves once it was all synthesized (or the clip played, or the turn closed). */
  flush(): Promise<void> {
    if (!this.#flushRequested) {
      this.#flushRequested = true;
      this.#ctx?.flush();
    }
    return this.#done;
  }

  /** The turn is over: the lease goes back; `cancel` drops what the socket was still generating (barge-in). */
  close(cancel: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    if (cancel) this.#ctx?.cancel();
    this.#lease?.release();
    this.#lease = undefined;
    this.#ctx = undefined;
    this.#settle();
  }

  #attach(lease: Lease<ElevenLabsConnection>): void {
    if (this.#closed) {
      lease.release();
      return;
    }
    const ctx = lease.conn.context(lease.id);
    this.#lease = lease;
    this.#ctx = ctx;
    ctx.on('audio', (buf) => {
      if (this.#ctx !== ctx) return;
      this.#heard = true;
      this.#o.onAudio(buf);
    });
    ctx.on('done', () => {
      if (this.#ctx !== ctx || !this.#flushRequested) return;
      this.#synthesized = true;
      this.#settle();
    });
    lease.on('lost', (err) => this.#lost(lease, err));
  }

  #lost(lease: Lease<ElevenLabsConnection>, err: Error): void {
    // Lost after its last audio arrived: all of it is queued for the caller, nothing to say again.
    if (this.#closed || this.#lease !== lease || this.#synthesized) return;
    this.#lease = undefined;
    this.#ctx = undefined;
    this.#o.log.warn({ err: err.message, heard: this.#heard, replacements: this.#replacements }, 'TTS socket lost mid-turn: speaking the turn again on a fresh socket');
    this.#recover().catch((again: unknown) => {
      // recover() handles the failures it expects; this is the owner of anything else.
      this.#o.log.error({ err: again }, 'replacing the lost TTS socket failed');
      this.#fallBack();
    });
  }

  async #recover(): Promise<void> {
    const limit = this.#o.maxReplacements ?? 2;
    while (this.#replacements < limit) {
      this.#replacements++;
      let lease: Lease<ElevenLabsConnection>;
      try {
        lease = await this.#o.tts.acquire({ signal: this.#o.signal });
      } catch (err) {
        if (this.#closed || this.#o.signal.aborted) return;
        this.#o.log.warn({ err, attempt: this.#replacements }, 'no TTS socket to replace the lost one');
        continue;
      }
      this.#o.timeline.acquired('tts-replacement', lease.acquireMs, lease.waited);
      this.#attach(lease);
      const ctx = this.#ctx;
      if (!ctx) return; // closed meanwhile: #attach gave the lease back
      if (this.#heard) ctx.speak(REPLACEMENT_APOLOGY);
      for (const text of this.#said) ctx.speak(text);
      if (this.#flushRequested) ctx.flush();
      return;
    }
    this.#fallBack();
  }

  #fallBack(): void {
    if (this.#closed || this.#fellBack) return;
    this.#fellBack = true;
    const clip = apologyClip();
    if (clip) this.#o.onAudio(clip);
    else this.#o.log.error('no apology clip rendered: the caller hears silence for this turn');
    this.#settle();
  }
}
