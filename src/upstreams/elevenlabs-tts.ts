import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { WebSocket, RawData } from 'ws';
import type { ConnectionFactory, PooledConnection } from '../pools/types.js';
import { UpstreamClosedError, UpstreamProtocolError, UpstreamTimeoutError, excerpt } from './errors.js';
import { messageText, openWebSocket } from './websocket-open.js';
import { TickCork } from './tick-cork.js';

/**
 * ElevenLabs text-to-speech over WebSocket, per ElevenLabs' API reference:
 * - single stream, `/v1/text-to-speech/{voice_id}/stream-input`: the first
 *   message is `{"text": " "}` with the voice settings; text follows in pieces;
 *   `flush: true` forces generation; `{"text": ""}` ends the input, after
 *   which the server sends the rest and closes the socket;
 * - multi-context, `/multi-stream-input`: every message names a `context_id`;
 *   `close_context` stops one context at once (barge-in), `close_socket` all;
 * - audio arrives as base64 in `audio` (µ-law 8 kHz with
 *   `output_format=ulaw_8000`, what a carrier leg plays with no transcoding),
 *   and `isFinal: true` ends a generation;
 * - the server closes after `inactivity_timeout` seconds without text, so
 *   keepalive sends a single space well before that.
 */
export interface ElevenLabsOptions {
  /** `wss://api.elevenlabs.io` or a compatible server. */
  baseUrl: string;
  apiKey: string;
  ca?: string | undefined;
  voiceId: string;
  modelId: string;
  /** Multi-context sockets (one context per lease) instead of one socket per call. */
  multiContext: boolean;
  /** Contexts per multi-context socket; ElevenLabs allows 5. Default 5. */
  contextsPerSocket?: number;
  /** `inactivity_timeout` in seconds. Default 20. */
  inactivityTimeoutS?: number;
  /**
   * A flushed context that gets no audio for this long means a sick socket:
   * it is destroyed (WL_ERR_UPSTREAM_TIMEOUT) so its lessees hear `lost` and
   * the pool replaces it, rather than a turn waiting forever. Default 10000.
   */
  generationTimeoutMs?: number;
  connectTimeoutMs?: number;
}

export interface TtsContextEvents {
  /** Raw µ-law 8 kHz audio. */
  audio: [Buffer];
  /** The generation asked for by flush() is complete. */
  done: [];
}

/** One call's speech on a TTS connection: a context on a multi-context socket, or the whole single-stream socket. */
export class TtsContext extends EventEmitter<TtsContextEvents> {
  readonly id: string;
  readonly #conn: ElevenLabsConnection;
  #started = false;
  cancelled = false;

  constructor(conn: ElevenLabsConnection, id: string) {
    super();
    this.#conn = conn;
    this.id = id;
  }

  get started(): boolean {
    return this.#started;
  }

  /** Text to speak; generation starts at sentence ends or on flush(). */
  speak(text: string): void {
    if (this.cancelled || text === '') return;
    this.#started = true;
    this.#conn.sendForContext(this, { text: text.endsWith(' ') ? text : `${text} ` });
  }

  /** Generate everything sent so far; 'done' follows the last audio. */
  flush(): void {
    if (this.cancelled) return;
    this.#started = true;
    this.#conn.flushContext(this);
    this.#conn.watch(this);
  }

  /** Barge-in: stop now; audio still in flight is dropped. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.#conn.cancelContext(this);
  }
}

export interface TtsConnectionEvents {
  close: [cause?: Error];
}

const PROVIDER = 'elevenlabs';

export class ElevenLabsConnection extends EventEmitter<TtsConnectionEvents> implements PooledConnection {
  readonly id = `tts-${randomUUID().slice(0, 8)}`;
  readonly capacity: number;
  readonly multi: boolean;
  readonly #ws: WebSocket;
  readonly #cork: TickCork;
  readonly #url: string;
  readonly #contexts = new Map<string, TtsContext>();
  /** Contexts the server knows of (their first message went out). */
  readonly #opened = new Set<string>();
  #closing = false;
  #gone = false;
  #inputEnded = false;
  /** Flushed contexts waiting for audio, each with its deadline. */
  readonly #watched = new Map<string, NodeJS.Timeout>();
  readonly #generationTimeoutMs: number;

  constructor(ws: WebSocket, url: string, multi: boolean, capacity: number, generationTimeoutMs = 10_000) {
    super();
    this.#generationTimeoutMs = generationTimeoutMs;
    this.#ws = ws;
    this.#cork = new TickCork(ws);
    this.#url = url;
    this.multi = multi;
    this.capacity = multi ? capacity : 1;
    ws.on('message', (data, binary) => this.#onMessage(data, binary));
    ws.on('close', (code, reason) => {
      // A single stream closes after the end of input: that is its normal end.
      const expected = this.#closing || (!this.multi && this.#inputEnded && code === 1000);
      this.#end(expected ? undefined : new UpstreamClosedError({ provider: PROVIDER, url, code, reason: reason.toString('utf8') }));
    });
    ws.on('error', (err) => this.#end(err));
  }

  get usable(): boolean {
    return !this.#gone && !this.#closing && !this.#inputEnded && this.#ws.readyState === this.#ws.OPEN;
  }

  /** The lessee's context; use the lease id so that reset() can find it. */
  context(id: string): TtsContext {
    let ctx = this.#contexts.get(id);
    if (!ctx) {
      ctx = new TtsContext(this, id);
      this.#contexts.set(id, ctx);
    }
    return ctx;
  }

  /** @internal */
  sendForContext(ctx: TtsContext, msg: Record<string, unknown>): void {
    if (this.multi) {
      if (!this.#opened.has(ctx.id)) {
        // The first message of a context opens it, with its settings.
        this.#opened.add(ctx.id);
        this.#send({ text: ' ', context_id: ctx.id, voice_settings: VOICE_SETTINGS });
      }
      this.#send({ ...msg, context_id: ctx.id });
    } else {
      this.#send(msg);
    }
  }

  /** @internal */
  flushContext(ctx: TtsContext): void {
    if (this.multi) {
      this.sendForContext(ctx, { text: ' ', flush: true });
    } else {
      // A single stream's only flush that ends in isFinal is the end of input.
      this.#inputEnded = true;
      this.#send({ text: '' });
    }
  }

  /** @internal Arms (or re-arms) the stall deadline of a flushed context. */
  watch(ctx: TtsContext): void {
    clearTimeout(this.#watched.get(ctx.id));
    if (this.#gone) return;
    const t = setTimeout(() => {
      this.#watched.delete(ctx.id);
      this.destroy(new UpstreamTimeoutError({ provider: PROVIDER, url: this.#url, what: `audio for flushed context ${ctx.id}`, timeoutMs: this.#generationTimeoutMs }));
    }, this.#generationTimeoutMs);
    this.#watched.set(ctx.id, t);
  }

  #unwatch(id: string): void {
    clearTimeout(this.#watched.get(id));
    this.#watched.delete(id);
  }

  /** @internal */
  cancelContext(ctx: TtsContext): void {
    this.#unwatch(ctx.id);
    if (this.multi) {
      if (this.#opened.has(ctx.id)) this.#send({ context_id: ctx.id, close_context: true });
      this.#opened.delete(ctx.id);
    } else {
      // A single stream cannot drop queued audio: the socket goes, and the pool replaces it.
      this.destroy();
    }
  }

  /**
   * Resets the provider's inactivity clock without ever holding a context of
   * its own: a multi-context socket allows 5 open contexts and closes with 1008
   * on a sixth, so the keepalive must not take one from the lessees. With a
   * context open, KeepContextAlive (`{"text": "", "context_id"}`) on it; with
   * none, a context opened and closed in the same breath (at most 1 of 5).
   */
  keepalive(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.usable) return reject(new UpstreamClosedError({ provider: PROVIDER, url: this.#url, code: 0, reason: 'not open' }));
      const done = (err?: Error | null) => (err ? reject(err) : resolve());
      this.#cork.cork();
      if (!this.multi) {
        // A single space resets the inactivity timer and generates nothing.
        this.#ws.send(JSON.stringify({ text: ' ' }), done);
        return;
      }
      const open = this.#opened.values().next();
      if (!open.done) {
        this.#ws.send(JSON.stringify({ text: '', context_id: open.value }), done);
        return;
      }
      const id = `${this.id}-keepalive`;
      this.#ws.send(JSON.stringify({ text: ' ', context_id: id }));
      this.#ws.send(JSON.stringify({ context_id: id, close_context: true }), done);
    });
  }

  async reset(leaseId: string): Promise<boolean> {
    const ctx = this.#contexts.get(leaseId);
    this.#contexts.delete(leaseId);
    this.#unwatch(leaseId);
    if (ctx) {
      ctx.removeAllListeners();
      if (this.multi && this.#opened.has(leaseId)) {
        this.#send({ context_id: leaseId, close_context: true });
        this.#opened.delete(leaseId);
      }
      // A used single stream has ended its input (or must be assumed to carry queued text).
      if (!this.multi && ctx.started) return false;
    }
    return this.usable;
  }

  async close(): Promise<void> {
    if (this.#gone) return;
    this.#closing = true;
    if (this.multi && this.#ws.readyState === this.#ws.OPEN) this.#ws.send(JSON.stringify({ close_socket: true }));
    this.#ws.close(1000);
    const t = setTimeout(() => this.#ws.terminate(), 1000);
    if (!this.#gone) await new Promise<void>((r) => this.once('close', () => r()));
    clearTimeout(t);
  }

  destroy(reason?: Error): void {
    if (this.#gone) return;
    this.#closing = reason === undefined;
    this.#ws.terminate();
    this.#end(reason);
  }

  #send(msg: object): void {
    if (this.#gone || this.#ws.readyState !== this.#ws.OPEN) return;
    this.#cork.cork();
    this.#ws.send(JSON.stringify(msg));
  }

  #end(cause?: Error): void {
    if (this.#gone) return;
    this.#gone = true;
    for (const t of this.#watched.values()) clearTimeout(t);
    this.#watched.clear();
    this.emit('close', cause);
  }

  #onMessage(data: RawData, binary: boolean): void {
    const text = messageText(data);
    let msg: { audio?: unknown; isFinal?: unknown; contextId?: unknown; context_id?: unknown; error?: unknown; message?: unknown };
    try {
      if (binary) throw new Error('binary frame');
      msg = JSON.parse(text) as typeof msg;
      if (typeof msg !== 'object' || msg === null) throw new Error('not an object');
    } catch (err) {
      this.destroy(new UpstreamProtocolError({ provider: PROVIDER, url: this.#url, reason: (err as Error).message, excerpt: excerpt(text) }));
      return;
    }
    const id = this.multi ? (typeof msg.contextId === 'string' ? msg.contextId : typeof msg.context_id === 'string' ? msg.context_id : undefined) : undefined;
    const ctx = this.multi ? (id === undefined ? undefined : this.#contexts.get(id)) : this.#contexts.values().next().value;
    if (!ctx || ctx.cancelled) return; // a cancelled or finished context's late audio
    if (this.#watched.has(ctx.id)) {
      if (msg.isFinal === true) this.#unwatch(ctx.id);
      else this.watch(ctx);
    }
    if (typeof msg.audio === 'string' && msg.audio.length > 0) ctx.emit('audio', Buffer.from(msg.audio, 'base64'));
    if (msg.isFinal === true) ctx.emit('done');
  }
}

const VOICE_SETTINGS = { stability: 0.5, similarity_boost: 0.8, speed: 1 };

export function createElevenLabsFactory(o: ElevenLabsOptions): ConnectionFactory<ElevenLabsConnection> {
  const path = o.multiContext ? 'multi-stream-input' : 'stream-input';
  const params = new URLSearchParams({ model_id: o.modelId, output_format: 'ulaw_8000', inactivity_timeout: String(o.inactivityTimeoutS ?? 20) });
  const url = `${o.baseUrl.replace(/\/$/, '')}/v1/text-to-speech/${encodeURIComponent(o.voiceId)}/${path}?${params}`;
  const contexts = o.contextsPerSocket ?? 5;
  return {
    upstream: 'tts',
    key: `elevenlabs|${o.baseUrl}|${o.voiceId}|${o.modelId}|ulaw_8000|${o.multiContext ? `multi${contexts}` : 'single'}`,
    async open(signal) {
      const ws = await openWebSocket({ provider: PROVIDER, url, headers: { 'xi-api-key': o.apiKey }, ca: o.ca, signal, ...(o.connectTimeoutMs !== undefined && { timeoutMs: o.connectTimeoutMs }) });
      // The single stream's first message initializes it, so the lessee's first text generates at once.
      if (!o.multiContext) ws.send(JSON.stringify({ text: ' ', voice_settings: VOICE_SETTINGS }));
      return new ElevenLabsConnection(ws, url.split('?')[0]!, o.multiContext, contexts, o.generationTimeoutMs);
    },
  };
}
