import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import type { ConnectionFactory, PooledConnection } from '../pools/types.js';
import { UpstreamClosedError, UpstreamProtocolError, UpstreamTimeoutError, excerpt } from './errors.js';
import { messageText, openWebSocket } from './websocket-open.js';
import { TickCork } from './tick-cork.js';

/**
 * Deepgram live streaming (`wss://api.deepgram.com/v1/listen`), per Deepgram's
 * streaming API reference: audio goes out as binary frames; control messages
 * are JSON text (`KeepAlive`, `Finalize`, `CloseStream`); results come back as
 * `Results` (interim and final, `speech_final`, `from_finalize`),
 * `SpeechStarted`, `UtteranceEnd` and `Metadata`. Deepgram closes a stream that
 * receives neither audio nor a message for 10 s, so a KeepAlive goes out
 * whenever nothing else did for `keepaliveMs` (≤ 5 s).
 */
export interface DeepgramOptions {
  /** `wss://api.deepgram.com` or a compatible server. */
  baseUrl: string;
  apiKey: string;
  ca?: string | undefined;
  model: string;
  language: string;
  /** Silence that ends an utterance, ms (`endpointing`). */
  endpointingMs: number;
  /** `utterance_end_ms`; Deepgram requires ≥ 1000. */
  utteranceEndMs?: number;
  /** KeepAlive interval while the stream carries no audio. Default 4000. */
  keepaliveMs?: number;
  /**
   * A released socket whose Finalize has had no answer (no message at all) for
   * this long fails its next keepalive, so the pool replaces a stalled
   * recognizer; reset() itself does not wait for the answer. Default 2000.
   */
  finalizeTimeoutMs?: number;
  /**
   * Caller audio goes out in WebSocket messages of this many ms (one send per
   * 20 ms RTP packet cost a tenth of a call's CPU). A frame waits at most
   * `audioBatchMs` − 20 ms for its batch (a timer flushes a partial one). Default 40.
   */
  audioBatchMs?: number;
  /**
   * How long keepalive() waits for the WebSocket pong. Deepgram never answers
   * KeepAlive, so the ping is the only proof the socket is alive. Default 2000.
   */
  pongTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export interface Transcript {
  text: string;
  isFinal: boolean;
  speechFinal: boolean;
  fromFinalize: boolean;
  confidence: number;
  start: number;
  duration: number;
}

export interface AsrEvents {
  transcript: [Transcript];
  'speech-started': [timestamp: number];
  'utterance-end': [lastWordEnd: number];
  close: [cause?: Error];
}

const PROVIDER = 'deepgram';
const LESSEE_EVENTS = ['transcript', 'speech-started', 'utterance-end'] as const;
const BYTES_PER_SECOND = 8000; // µ-law 8 kHz
/** Float slack on Deepgram's stream times (seconds), well under one 20 ms frame. */
const STREAM_TIME_SLACK = 0.01;

export class DeepgramConnection extends EventEmitter<AsrEvents> implements PooledConnection {
  readonly id = `asr-${randomUUID().slice(0, 8)}`;
  readonly capacity = 1;
  readonly #ws: WebSocket;
  readonly #cork: TickCork;
  readonly #url: string;
  readonly #keepaliveMs: number;
  readonly #pongTimeoutMs: number;
  /** Settles the keepalive waiting for a pong (one at a time). */
  #waitingPong: ((err?: Error) => void) | undefined;
  #lastSentAt = performance.now();
  #timer: NodeJS.Timeout;
  #closing = false;
  #gone = false;
  /** Audio bytes sent since the lease began (for the lessee's bookkeeping). */
  audioBytes = 0;
  #streamBytes = 0;
  /**
   * Stream second where the current lease began: the last reset's Finalize cut
   * the stream there, so every result, SpeechStarted or UtteranceEnd about
   * audio before it belongs to an earlier lease, however late it arrives.
   */
  #leaseStart = 0;
  /** Messages about an earlier lease's audio that arrived after its reset, dropped. */
  staleResultsDropped = 0;
  /** Caller audio not sent yet (a batch in the making) and its length. */
  #batch: Buffer | undefined;
  #batchLength = 0;
  readonly #batchBytes: number;
  #batchTimer: NodeJS.Timeout | undefined;
  readonly #batchMs: number;

  /** When the release's Finalize went out, until any message comes back. */
  #finalizeUnansweredSince: number | undefined;
  readonly #finalizeTimeoutMs: number;

  constructor(ws: WebSocket, url: string, keepaliveMs: number, finalizeTimeoutMs: number, pongTimeoutMs = 2000, audioBatchMs = 40) {
    super();
    this.#ws = ws;
    this.#cork = new TickCork(ws);
    this.#finalizeTimeoutMs = finalizeTimeoutMs;
    this.#url = url;
    this.#keepaliveMs = keepaliveMs;
    this.#pongTimeoutMs = pongTimeoutMs;
    this.#batchMs = Math.max(0, audioBatchMs);
    this.#batchBytes = Math.floor((this.#batchMs * BYTES_PER_SECOND) / 1000);
    ws.on('pong', () => this.#waitingPong?.());
    ws.on('message', (data, binary) => this.#onMessage(data, binary));
    ws.on('close', (code, reason) => {
      const text = reason.toString('utf8');
      this.#end(this.#closing ? undefined : new UpstreamClosedError({ provider: PROVIDER, url, code, reason: text }));
    });
    ws.on('error', (err) => this.#end(err));
    // Our own KeepAlive while leased and silent (on hold, say): the pool only keeps idle sockets alive.
    this.#timer = setInterval(() => {
      if (performance.now() - this.#lastSentAt >= this.#keepaliveMs) this.#sendControl('KeepAlive');
    }, Math.max(50, this.#keepaliveMs / 2));
    this.#timer.unref();
  }

  /**
   * Seconds of audio this socket's stream has carried, over every lease: transcript
   * times count from the stream's start, not the lease's, so a lessee needs this
   * to map them back onto its own call.
   */
  get streamSeconds(): number {
    return this.#streamBytes / BYTES_PER_SECOND;
  }

  get usable(): boolean {
    return !this.#gone && !this.#closing && this.#ws.readyState === this.#ws.OPEN;
  }

  /** µ-law 8 kHz audio, any length; copied, so the caller may reuse its buffer. */
  sendAudio(ulaw: Buffer): void {
    if (!this.usable || ulaw.length === 0) return;
    this.audioBytes += ulaw.length;
    this.#streamBytes += ulaw.length;
    if (this.#batchLength === 0 && ulaw.length >= this.#batchBytes) {
      this.#cork.cork();
      this.#ws.send(ulaw, { binary: true });
      this.#lastSentAt = performance.now();
      return;
    }
    const need = this.#batchLength + ulaw.length;
    if (!this.#batch || this.#batch.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.#batchBytes));
      if (this.#batch) this.#batch.copy(grown, 0, 0, this.#batchLength);
      this.#batch = grown;
    }
    ulaw.copy(this.#batch, this.#batchLength);
    this.#batchLength = need;
    if (need >= this.#batchBytes) this.#flushAudio();
    else if (need === ulaw.length) this.#armBatchTimer();
  }

  /** Asks for the final result of what was sent so far. */
  finalize(): void {
    this.#flushAudio();
    this.#sendControl('Finalize');
  }

  /**
   * KeepAlive (resets Deepgram's 10 s idle clock) and a WebSocket ping: a
   * half-open socket (a middlebox that dropped the flow, a peer gone without a
   * FIN) takes sends without complaint, so only the pong proves it alive. No
   * pong within `pongTimeoutMs` rejects, and the pool replaces the socket
   * before a call is handed it.
   */
  keepalive(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.usable) return reject(new UpstreamClosedError({ provider: PROVIDER, url: this.#url, code: 0, reason: 'not open' }));
      const unanswered = this.#finalizeUnansweredSince;
      if (unanswered !== undefined && performance.now() - unanswered > this.#finalizeTimeoutMs) {
        return reject(new UpstreamTimeoutError({ provider: PROVIDER, url: this.#url, what: 'the Finalize answer', timeoutMs: this.#finalizeTimeoutMs }));
      }
      if (this.#waitingPong) return reject(new UpstreamTimeoutError({ provider: PROVIDER, url: this.#url, what: 'the previous ping', timeoutMs: this.#pongTimeoutMs }));
      const timer = setTimeout(() => settle(new UpstreamTimeoutError({ provider: PROVIDER, url: this.#url, what: 'a WebSocket pong', timeoutMs: this.#pongTimeoutMs })), this.#pongTimeoutMs);
      const settle = (err?: Error) => {
        clearTimeout(timer);
        this.#waitingPong = undefined;
        if (err) reject(err);
        else resolve();
      };
      this.#waitingPong = settle;
      this.#cork.cork();
      this.#ws.send(JSON.stringify({ type: 'KeepAlive' }), (err) => { if (err) settle(err); });
      this.#ws.ping();
      this.#lastSentAt = performance.now();
    });
  }

  /**
   * After a call: Finalize, and the socket is clean at once. Waiting for the
   * `from_finalize` answer held a socket out of the pool for as long as the
   * recognizer lagged (seconds under load, then a replacement), and Deepgram
   * does not promise that answer anyway ("in most cases"). Instead the
   * Finalize, in order on the socket, cuts the stream at this point: results
   * after it start at or after it, and anything about earlier audio (its
   * answer included) is dropped by stream time, so it never reaches the next
   * lessee.
   */
  async reset(): Promise<boolean> {
    for (const e of LESSEE_EVENTS) this.removeAllListeners(e);
    const heard = this.audioBytes > 0;
    this.audioBytes = 0;
    if (!this.usable) return false;
    this.#flushAudio();
    // Deepgram answers a Finalize when audio is buffered; silence back after audio is a stalled stream.
    if (heard) this.#finalizeUnansweredSince ??= performance.now();
    this.#sendControl('Finalize');
    this.#leaseStart = this.#streamBytes / BYTES_PER_SECOND;
    return this.usable;
  }

  async close(): Promise<void> {
    if (this.#gone) return;
    this.#closing = true;
    if (this.#ws.readyState === this.#ws.OPEN) {
      this.#ws.send(JSON.stringify({ type: 'CloseStream' }));
      const closed = new Promise<void>((r) => this.once('close', () => r()));
      const t = setTimeout(() => this.#ws.terminate(), 1000);
      await closed;
      clearTimeout(t);
    } else {
      this.#ws.terminate();
      this.#end();
    }
  }

  destroy(reason?: Error): void {
    if (this.#gone) return;
    this.#closing = reason === undefined;
    this.#ws.terminate();
    this.#end(reason);
  }

  #sendControl(type: string): void {
    if (!this.usable) return;
    this.#cork.cork();
    this.#ws.send(JSON.stringify({ type }));
    this.#lastSentAt = performance.now();
  }

  #flushAudio(): void {
    if (this.#batchLength === 0 || !this.#batch) return;
    const out = this.#batch.subarray(0, this.#batchLength);
    // ws may hold (and mask in place) what it is given: the next batch gets a fresh buffer.
    this.#batch = undefined;
    this.#batchLength = 0;
    if (!this.usable) return;
    this.#cork.cork();
    this.#ws.send(out, { binary: true });
    this.#lastSentAt = performance.now();
  }

  /** One timer per socket, re-armed per batch: a partial batch waits at most the batch's length. */
  #armBatchTimer(): void {
    if (this.#batchTimer) this.#batchTimer.refresh();
    else {
      this.#batchTimer = setTimeout(() => this.#flushAudio(), this.#batchMs);
      this.#batchTimer.unref();
    }
  }

  /** About audio before the current lease began (see reset()). */
  #stale(start: number, end: number): boolean {
    if (this.#leaseStart === 0 || (start >= this.#leaseStart - STREAM_TIME_SLACK && end > this.#leaseStart + STREAM_TIME_SLACK)) return false;
    this.staleResultsDropped++;
    return true;
  }

  #end(cause?: Error): void {
    if (this.#gone) return;
    this.#gone = true;
    clearInterval(this.#timer);
    if (this.#batchTimer) clearTimeout(this.#batchTimer);
    this.#batchLength = 0;
    this.#waitingPong?.(cause ?? new UpstreamClosedError({ provider: PROVIDER, url: this.#url, code: 0, reason: 'closed' }));
    this.emit('close', cause);
  }

  #onMessage(data: RawData, binary: boolean): void {
    const text = messageText(data);
    let msg: Record<string, unknown>;
    try {
      if (binary) throw new Error('binary frame');
      msg = JSON.parse(text) as Record<string, unknown>;
      if (typeof msg !== 'object' || msg === null) throw new Error('not an object');
    } catch (err) {
      this.destroy(new UpstreamProtocolError({ provider: PROVIDER, url: this.#url, reason: (err as Error).message, excerpt: excerpt(text) }));
      return;
    }
    this.#finalizeUnansweredSince = undefined;
    switch (msg.type) {
      case 'Results': {
        const channel = msg.channel as { alternatives?: Array<{ transcript?: unknown; confidence?: unknown }> } | undefined;
        const alt = channel?.alternatives?.[0];
        const t: Transcript = {
          text: typeof alt?.transcript === 'string' ? alt.transcript : '',
          isFinal: msg.is_final === true,
          speechFinal: msg.speech_final === true,
          fromFinalize: msg.from_finalize === true,
          confidence: typeof alt?.confidence === 'number' ? alt.confidence : 0,
          start: typeof msg.start === 'number' ? msg.start : 0,
          duration: typeof msg.duration === 'number' ? msg.duration : 0,
        };
        if (this.#stale(t.start, t.start + t.duration)) return;
        this.emit('transcript', t);
        return;
      }
      case 'SpeechStarted': {
        const at = typeof msg.timestamp === 'number' ? msg.timestamp : 0;
        if (this.#stale(at, Infinity)) return;
        this.emit('speech-started', at);
        return;
      }
      case 'UtteranceEnd': {
        const lastWordEnd = typeof msg.last_word_end === 'number' ? msg.last_word_end : 0;
        if (this.#stale(lastWordEnd, lastWordEnd)) return;
        this.emit('utterance-end', lastWordEnd);
        return;
      }
      case 'Metadata':
        return;
      default:
        // Deepgram adds message types over time; an unknown one is not a broken stream.
        return;
    }
  }
}

export function createDeepgramFactory(o: DeepgramOptions): ConnectionFactory<DeepgramConnection> {
  const params = new URLSearchParams({
    encoding: 'mulaw',
    sample_rate: '8000',
    channels: '1',
    model: o.model,
    language: o.language,
    interim_results: 'true',
    endpointing: String(o.endpointingMs),
    vad_events: 'true',
    ...(o.utteranceEndMs !== undefined && { utterance_end_ms: String(o.utteranceEndMs) }),
  });
  const url = `${o.baseUrl.replace(/\/$/, '')}/v1/listen?${params}`;
  return {
    upstream: 'asr',
    key: `deepgram|${o.baseUrl}|${o.model}|${o.language}|mulaw/8000|ep${o.endpointingMs}`,
    async open(signal) {
      const ws = await openWebSocket({ provider: PROVIDER, url, headers: { Authorization: `Token ${o.apiKey}` }, ca: o.ca, signal, ...(o.connectTimeoutMs !== undefined && { timeoutMs: o.connectTimeoutMs }) });
      return new DeepgramConnection(ws, url.split('?')[0]!, o.keepaliveMs ?? 4000, o.finalizeTimeoutMs ?? 2000, o.pongTimeoutMs, o.audioBatchMs);
    },
  };
}
