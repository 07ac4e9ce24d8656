import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import { DelayedTlsListener, createWebSocketHttpsServer, rejectUpgrade, type LocalServerOptions } from './local-server.js';
import type { Synthesizer } from './synthesizer.js';
import type { Chaos } from './chaos.js';

/**
 * An ElevenLabs-compatible text-to-speech WebSocket server, written from
 * ElevenLabs' documentation of `stream-input` and `multi-stream-input`:
 * - `/v1/text-to-speech/{voice_id}/stream-input` and `…/multi-stream-input`,
 *   `output_format=ulaw_8000`, `inactivity_timeout` in seconds (default 20);
 * - auth: the `xi-api-key` header (or `xi_api_key` in the first message);
 * - text arrives in pieces; audio is generated when a sentence ends, on
 *   `flush: true`, and at the end of input; every audio message carries
 *   base64 µ-law, the end of a generation `isFinal: true`;
 * - single stream: `{"text": ""}` ends the input; after the last audio the
 *   server closes the socket;
 * - multi stream: every message names a `context_id` (the first opens it);
 *   `{"context_id", "text": ""}` keeps a context alive, `close_context`
 *   stops it at once, `close_socket` closes everything;
 * - no message within the inactivity timeout closes the socket (1008); a
 *   multi-stream context with no message for that long is closed on its own;
 *   `{"context_id", "text": ""}` (KeepContextAlive) resets a context's clock
 *   and opens nothing;
 * - at most 5 open contexts per multi-stream socket: opening a sixth closes the
 *   socket with 1008 `max_active_conversations`, as ElevenLabs does;
 * - server messages follow the official SDK's schemas (AudioOutput[Multi],
 *   FinalOutput[Multi]): audio messages carry no `isFinal`.
 */
export interface TtsServerOptions extends LocalServerOptions {
  defaultInactivityTimeoutMs: number;
  synthesizer: Synthesizer;
  /** Open contexts per multi-stream socket. Default 5 (ElevenLabs' limit). */
  maxContexts?: number;
}

/** About 100 ms of µ-law 8 kHz per audio message. */
const CHUNK_BYTES = 800;
const SENTENCE_END = /[.!?]["')\]]?\s+$/;

const DETAIL_STATUS = { 400: 'invalid_request', 401: 'invalid_api_key', 404: 'invalid_request', 429: 'too_many_concurrent_requests', 503: 'service_unavailable' } as const;

function reject(socket: Parameters<typeof rejectUpgrade>[0], status: keyof typeof DETAIL_STATUS, message: string): void {
  rejectUpgrade(socket, status, { detail: { status: DETAIL_STATUS[status], message } });
}

export async function startTtsServer(o: TtsServerOptions): Promise<DelayedTlsListener> {
  const https = createWebSocketHttpsServer(o.certificate, { detail: 'use a WebSocket' });
  const wss = new WebSocketServer({ noServer: true });
  const listener = new DelayedTlsListener(https, { scheme: 'wss', host: o.host, port: o.port, handshakeDelayMs: o.handshakeDelayMs });
  https.on('upgrade', (req, socket, head) => {
    listener.stats.requests++;
    const conn = listener.recordOpen('GET', req.url ?? '/', req.headers);
    const url = new URL(req.url ?? '/', 'https://local');
    const m = /^\/v1\/text-to-speech\/([^/]+)\/(stream-input|multi-stream-input)$/.exec(url.pathname);
    if (!m) return reject(socket, 404, `no route ${url.pathname}`);
    const chaos = listener.chaos.error();
    if (chaos) return reject(socket, chaos, chaos === 429 ? 'Too many concurrent requests (chaos)' : 'Service unavailable (chaos)');
    const headerKey = req.headers['xi-api-key'];
    if (headerKey !== undefined && headerKey !== o.apiKey) return reject(socket, 401, 'Invalid API key');
    const format = url.searchParams.get('output_format') ?? 'mp3_44100_128';
    if (format !== 'ulaw_8000') return reject(socket, 400, `the local TTS produces output_format=ulaw_8000 only, not ${format}`);
    const timeoutS = Number(url.searchParams.get('inactivity_timeout') ?? o.defaultInactivityTimeoutMs / 1000);
    wss.handleUpgrade(req, socket, head, (ws) => {
      new TtsSession(ws, {
        multi: m[2] === 'multi-stream-input',
        authenticated: headerKey === o.apiKey,
        apiKey: o.apiKey,
        inactivityMs: Math.max(1, timeoutS) * 1000,
        firstByteDelayMs: o.firstByteDelayMs,
        chaos: listener.chaos,
        synthesizer: o.synthesizer,
        maxContexts: o.maxContexts ?? 5,
        record: (r) => listener.record({ conn, ...r }),
      });
    });
  });
  await listener.listen();
  return listener;
}

interface Context {
  readonly id: string;
  text: string;
  /** Generations run one after another so audio keeps the order of the text. */
  chain: Promise<void>;
  closed: boolean;
  ended: boolean;
  timer: NodeJS.Timeout | undefined;
}

type Recorded = { kind: 'text'; data: string } | { kind: 'binary'; bytes: number } | { kind: 'close'; code: number; reason: string };

interface SessionOptions {
  multi: boolean;
  authenticated: boolean;
  apiKey: string;
  inactivityMs: number;
  firstByteDelayMs: number;
  chaos: Chaos;
  synthesizer: Synthesizer;
  maxContexts: number;
  record: (r: Recorded) => void;
}

interface IncomingMessageBody {
  text?: unknown;
  context_id?: unknown;
  flush?: unknown;
  close_context?: unknown;
  close_socket?: unknown;
  xi_api_key?: unknown;
  try_trigger_generation?: unknown;
}

class TtsSession {
  readonly #ws: WebSocket;
  readonly #multi: boolean;
  #authenticated: boolean;
  readonly #apiKey: string;
  readonly #inactivityMs: number;
  readonly #firstByteDelayMs: number;
  readonly #synth: Synthesizer;
  readonly #maxContexts: number;
  readonly #chaos: Chaos;
  readonly #record: (r: Recorded) => void;
  readonly #contexts = new Map<string, Context>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Generations queued or streaming: the inactivity clock only runs while the server owes no audio. */
  #pending = 0;

  constructor(ws: WebSocket, o: SessionOptions) {
    this.#ws = ws;
    this.#multi = o.multi;
    this.#authenticated = o.authenticated;
    this.#apiKey = o.apiKey;
    this.#inactivityMs = o.inactivityMs;
    this.#firstByteDelayMs = o.firstByteDelayMs;
    this.#synth = o.synthesizer;
    this.#maxContexts = o.maxContexts;
    this.#chaos = o.chaos;
    this.#record = o.record;
    this.#touch();
    ws.on('message', (data: RawData, binary: boolean) => this.#onMessage(data, binary));
    ws.on('close', (code, reason) => {
      this.#record({ kind: 'close', code, reason: reason.toString('utf8') });
      this.#finish();
    });
    ws.on('error', () => this.#finish());
  }

  #touch(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#pending > 0 ? undefined : this.#close(1008, `input_timeout_exceeded: no text received for ${this.#inactivityMs / 1000} seconds`), this.#inactivityMs);
  }

  /** A multi-stream context left silent for the inactivity window closes on its own, and stops counting against the cap. */
  #touchContext(ctx: Context): void {
    if (!this.#multi) return;
    if (ctx.timer) clearTimeout(ctx.timer);
    ctx.timer = setTimeout(() => {
      if (this.#pending > 0) return this.#touchContext(ctx);
      this.#dropContext(ctx);
    }, this.#inactivityMs);
  }

  #dropContext(ctx: Context): void {
    ctx.closed = true;
    if (ctx.timer) clearTimeout(ctx.timer);
    this.#contexts.delete(ctx.id);
  }

  #finish(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const c of this.#contexts.values()) this.#dropContext(c);
  }

  #close(code: number, reason: string): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.close(code, reason);
    this.#finish();
  }

  #send(msg: object): void {
    if (!this.#closed && this.#ws.readyState === this.#ws.OPEN) this.#ws.send(JSON.stringify(msg));
  }

  #onMessage(data: RawData, binary: boolean): void {
    if (this.#closed) return;
    if (binary) return this.#close(1003, 'invalid_message: expected JSON text messages');
    let msg: IncomingMessageBody;
    const raw = (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer)).toString('utf8');
    this.#record({ kind: 'text', data: raw });
    try {
      msg = JSON.parse(raw) as IncomingMessageBody;
      if (typeof msg !== 'object' || msg === null) throw new Error('not an object');
    } catch {
      return this.#close(1007, 'invalid_message: not valid JSON');
    }
    if (!this.#authenticated) {
      if (msg.xi_api_key !== this.#apiKey) return this.#close(1008, 'invalid_api_key');
      this.#authenticated = true;
    }
    this.#touch();
    if (this.#multi && msg.close_socket === true) {
      for (const c of this.#contexts.values()) this.#dropContext(c);
      return this.#close(1000, 'close_socket');
    }
    const id = this.#multi ? (typeof msg.context_id === 'string' ? msg.context_id : 'default') : 'single';
    const text = typeof msg.text === 'string' ? msg.text : undefined;
    let ctx = this.#contexts.get(id);
    if (this.#multi && msg.close_context === true) {
      // Barge-in: stop this context now; audio not yet sent is dropped.
      if (ctx) this.#dropContext(ctx);
      this.#send({ isFinal: true, contextId: id });
      return;
    }
    // KeepContextAlive names a context to keep; it never opens one.
    if (!ctx && this.#multi && text === '') return;
    if (!ctx) {
      if (this.#multi && this.#contexts.size >= this.#maxContexts) {
        return this.#close(1008, `max_active_conversations: Maximum simultaneous contexts per WebSocket connection exceeded (${this.#maxContexts}).`);
      }
      ctx = { id, text: '', chain: Promise.resolve(), closed: false, ended: false, timer: undefined };
      this.#contexts.set(id, ctx);
    }
    if (ctx.closed) return;
    this.#touchContext(ctx);
    if (text === '') {
      if (this.#multi) return; // keep the context alive
      ctx.ended = true;
      this.#generate(ctx);
      ctx.chain = ctx.chain.then(() => {
        this.#send({ isFinal: true });
        this.#close(1000, 'end of input');
      });
      return;
    }
    if (text !== undefined && text.trim() !== '') ctx.text += text;
    if (msg.flush === true || SENTENCE_END.test(ctx.text) || msg.try_trigger_generation === true) this.#generate(ctx, msg.flush === true);
  }

  #generate(ctx: Context, flushed = false): void {
    const text = ctx.text.trim();
    ctx.text = '';
    if (!text) {
      if (flushed && this.#multi) ctx.chain = ctx.chain.then(() => this.#send({ isFinal: true, contextId: ctx.id }));
      return;
    }
    const multi = this.#multi;
    this.#pending++;
    ctx.chain = ctx.chain.then(async () => {
      if (ctx.closed) return;
      const audio = await this.#synth.synthesize(text);
      const delay = this.#firstByteDelayMs + this.#chaos.slowFirstByteMs;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      // A stalled generation never delivers: the context waits for audio that does not come.
      if (this.#chaos.stall()) await new Promise<void>((r) => { const t = setInterval(() => { if (ctx.closed || this.#closed) { clearInterval(t); r(); } }, 200); });
      for (let off = 0; off < audio.length; off += CHUNK_BYTES) {
        if (ctx.closed || this.#closed) return;
        const chunk = audio.subarray(off, off + CHUNK_BYTES).toString('base64');
        this.#send(multi ? { audio: chunk, contextId: ctx.id } : { audio: chunk });
        // Yield between chunks so a close_context that arrives meanwhile is honoured.
        await new Promise((r) => setImmediate(r));
      }
      if (multi && flushed) this.#send({ isFinal: true, contextId: ctx.id });
    }).catch(() => this.#close(1011, 'synthesis failed')).finally(() => {
      // A slow (cold) synthesis must not count as the client's silence: restart the clock once audio is delivered.
      this.#pending--;
      if (!this.#closed) this.#touch();
    });
  }
}
