import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import type { ConnectionFactory, PooledConnection } from '../pools/types.js';
import { UpstreamClosedError, UpstreamProtocolError, UpstreamTimeoutError, excerpt } from './errors.js';
import { openWebSocket } from './websocket-open.js';

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
  /** How long reset() waits for a Finalize's answer. Default 2000. */
  finalizeTimeoutMs?: number;
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

export class DeepgramConnection extends EventEmitter<AsrEvents> implements PooledConnection {
  readonly id = `asr-${randomUUID().slice(0, 8)}`;
  readonly capacity = 1;
  readonly #ws: WebSocket;
  readonly #url: string;
  readonly #keepaliveMs: number;
  readonly #finalizeTimeoutMs: number;
  readonly #pongTimeoutMs: number;
  /** Settles the keepalive waiting for a pong (one at a time). */
  #waitingPong: ((err?: Error) => void) | undefined;
  #lastSentAt = performance.now();
  #timer: NodeJS.Timeout;
  #closing = false;
  #gone = false;
  #waitingFinalize: ((ok: boolean) => void) | undefined;
  /** Audio bytes sent since the lease began (for the lessee's bookkeeping). */
  audioBytes = 0;
  #streamBytes = 0;

  constructor(ws: WebSocket, url: string, keepaliveMs: number, finalizeTimeoutMs: number, pongTimeoutMs = 2000) {
    super();
    this.#ws = ws;
    this.#url = url;
    this.#keepaliveMs = keepaliveMs;
    this.#finalizeTimeoutMs = finalizeTimeoutMs;
    this.#pongTimeoutMs = pongTimeoutMs;
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
    return this.#streamBytes / 8000;
  }

  get usable(): boolean {
    return !this.#gone && !this.#closing && this.#ws.readyState === this.#ws.OPEN;
  }

  /** µ-law 8 kHz audio, any length. */
  sendAudio(ulaw: Buffer): void {
    if (!this.usable) return;
    this.#ws.send(ulaw, { binary: true });
    this.audioBytes += ulaw.length;
    this.#streamBytes += ulaw.length;
    this.#lastSentAt = performance.now();
  }

  /** Asks for the final result of what was sent so far. */
  finalize(): void {
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
      if (this.#waitingPong) return reject(new UpstreamTimeoutError({ provider: PROVIDER, url: this.#url, what: 'the previous ping', timeoutMs: this.#pongTimeoutMs }));
      const timer = setTimeout(() => settle(new UpstreamTimeoutError({ provider: PROVIDER, url: this.#url, what: 'a WebSocket pong', timeoutMs: this.#pongTimeoutMs })), this.#pongTimeoutMs);
      const settle = (err?: Error) => {
        clearTimeout(timer);
        this.#waitingPong = undefined;
        if (err) reject(err);
        else resolve();
      };
      this.#waitingPong = settle;
      this.#ws.send(JSON.stringify({ type: 'KeepAlive' }), (err) => { if (err) settle(err); });
      this.#ws.ping();
      this.#lastSentAt = performance.now();
    });
  }

  /**
   * After a call: Finalize, and wait for its `from_finalize` result so that no
   * transcript of this call can reach the next lessee. Clean → reusable.
   */
  async reset(): Promise<boolean> {
    for (const e of LESSEE_EVENTS) this.removeAllListeners(e);
    this.audioBytes = 0;
    if (!this.usable) return false;
    const answered = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => { this.#waitingFinalize = undefined; resolve(false); }, this.#finalizeTimeoutMs);
      this.#waitingFinalize = (ok) => { clearTimeout(t); this.#waitingFinalize = undefined; resolve(ok); };
    });
    this.#sendControl('Finalize');
    const ok = await answered;
    for (const e of LESSEE_EVENTS) this.removeAllListeners(e);
    return ok && this.usable;
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
    this.#ws.send(JSON.stringify({ type }));
    this.#lastSentAt = performance.now();
  }

  #end(cause?: Error): void {
    if (this.#gone) return;
    this.#gone = true;
    clearInterval(this.#timer);
    this.#waitingFinalize?.(false);
    this.#waitingPong?.(cause ?? new UpstreamClosedError({ provider: PROVIDER, url: this.#url, code: 0, reason: 'closed' }));
    this.emit('close', cause);
  }

  #onMessage(data: RawData, binary: boolean): void {
    const text = (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8');
    let msg: Record<string, unknown>;
    try {
      if (binary) throw new Error('binary frame');
      msg = JSON.parse(text) as Record<string, unknown>;
      if (typeof msg !== 'object' || msg === null) throw new Error('not an object');
    } catch (err) {
      this.destroy(new UpstreamProtocolError({ provider: PROVIDER, url: this.#url, reason: (err as Error).message, excerpt: excerpt(text) }));
      return;
    }
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
        if (t.fromFinalize && this.#waitingFinalize) {
          this.#waitingFinalize(true);
          return;
        }
        this.emit('transcript', t);
        return;
      }
      case 'SpeechStarted':
        this.emit('speech-started', typeof msg.timestamp === 'number' ? msg.timestamp : 0);
        return;
      case 'UtteranceEnd':
        this.emit('utterance-end', typeof msg.last_word_end === 'number' ? msg.last_word_end : 0);
        return;
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
      return new DeepgramConnection(ws, url.split('?')[0]!, o.keepaliveMs ?? 4000, o.finalizeTimeoutMs ?? 2000, o.pongTimeoutMs);
    },
  };
}
