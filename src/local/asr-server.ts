import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer, type WebSocket, type RawData } from 'ws';
import alawmulaw from 'alawmulaw';
import { DelayedTlsListener, createWebSocketHttpsServer, rejectUpgrade, type LocalServerOptions } from './local-server.js';
import { VoiceActivityDetector, type VadEvent } from './voice-activity.js';
import type { SphinxRecognizer, SphinxUtterance } from './sphinx.js';
import type { Chaos } from './chaos.js';

/**
 * A Deepgram-compatible live-streaming server (`/v1/listen`), written from
 * Deepgram's documentation of the streaming API:
 * - auth: `Authorization: Token <key>` or the `token, <key>` WebSocket subprotocol; else 401;
 * - binary frames are audio (`encoding=mulaw&sample_rate=8000`, or linear16);
 * - text frames are control: KeepAlive, Finalize, CloseStream;
 * - Results (interim and final, `speech_final`, `from_finalize`), SpeechStarted
 *   (`vad_events=true`), UtteranceEnd (`utterance_end_ms`), Metadata on close;
 * - with neither audio nor a message for the idle window, the server closes with
 *   1011 and reason NET-0001, as Deepgram does after 10 s.
 *
 * It is a STAND-IN for a recognizer: transcripts say what an energy VAD and a
 * DTMF detector heard ("[speech 1.24 s]", "[dtmf 5]"), not words.
 */
export interface AsrServerOptions extends LocalServerOptions {
  idleTimeoutMs: number;
  /**
   * Concurrent streams per key, past which an upgrade gets 429 as Deepgram's
   * per-project concurrency limit answers. Default 50.
   */
  maxStreams?: number;
  /** Real words from pocketsphinx; without it, the voice-activity stand-in's labels. */
  recognizer?: SphinxRecognizer | undefined;
}

const MODEL_INFO = { name: 'warmline-local-vad', version: '1', arch: 'energy-vad-standin' };
const SPHINX_MODEL_INFO = { name: 'warmline-local-pocketsphinx', version: '1', arch: 'pocketsphinx-en-us' };
/** Lead-in before the VAD's start handed to the recognizer: 300 ms of µ-law. */
const PRE_ROLL_BYTES = 2400;

function tokenFrom(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Token ')) return auth.slice(6).trim();
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const proto = req.headers['sec-websocket-protocol'];
  if (proto) {
    const parts = proto.split(',').map((s) => s.trim());
    if (parts[0] === 'token' && parts[1]) return parts[1];
  }
  return undefined;
}

const ERR_CODE = { 400: 'Bad Request', 401: 'INVALID_AUTH', 404: 'Bad Request', 429: 'TOO_MANY_REQUESTS', 503: 'SERVICE_UNAVAILABLE' } as const;

function reject(socket: Parameters<typeof rejectUpgrade>[0], status: keyof typeof ERR_CODE, message: string): void {
  rejectUpgrade(socket, status, { err_code: ERR_CODE[status], err_msg: message });
}

export async function startAsrServer(o: AsrServerOptions): Promise<DelayedTlsListener> {
  const https = createWebSocketHttpsServer(o.certificate, { err_msg: 'use a WebSocket' });
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('token') ? 'token' : false),
  });
  const listener = new DelayedTlsListener(https, { scheme: 'wss', host: o.host, port: o.port, handshakeDelayMs: o.handshakeDelayMs });

  let streams = 0;
  const maxStreams = o.maxStreams ?? 50;
  https.on('upgrade', (req, socket, head) => {
    listener.stats.requests++;
    const conn = listener.recordOpen('GET', req.url ?? '/', req.headers);
    const url = new URL(req.url ?? '/', 'https://local');
    if (url.pathname !== '/v1/listen') return reject(socket, 404, `no route ${url.pathname}`);
    if (tokenFrom(req) !== o.apiKey) return reject(socket, 401, 'Invalid credentials.');
    const encoding = url.searchParams.get('encoding') ?? 'mulaw';
    const rate = Number(url.searchParams.get('sample_rate') ?? 8000);
    if (!['mulaw', 'linear16'].includes(encoding) || rate !== 8000) {
      return reject(socket, 400, `the local ASR takes encoding=mulaw or linear16 at sample_rate=8000, got ${encoding} at ${rate}`);
    }
    const chaos = listener.chaos.error();
    if (chaos) return reject(socket, chaos, chaos === 429 ? 'Too many requests (chaos)' : 'Service unavailable (chaos)');
    if (streams >= maxStreams) return reject(socket, 429, `Too many concurrent requests: this project allows ${maxStreams} streams`);
    streams++;
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.once('close', () => streams--);
      serve(ws, url.searchParams, o, (r) => listener.record({ conn, ...r }), listener.chaos);
    });
  });
  await listener.listen();
  return listener;
}

type Recorded = { kind: 'text'; data: string } | { kind: 'binary'; bytes: number } | { kind: 'close'; code: number; reason: string };

function serve(ws: WebSocket, params: URLSearchParams, o: AsrServerOptions, record: (r: Recorded) => void, chaos: Chaos): void {
  // A stalled stream takes audio and KeepAlive and answers nothing, ever.
  const stalled = chaos.stall();
  const requestId = randomUUID();
  const interim = params.get('interim_results') === 'true';
  const vadEvents = params.get('vad_events') === 'true';
  const endpointingParam = params.get('endpointing');
  const endpointingMs = endpointingParam === 'false' ? 10_000 : Number(endpointingParam ?? 10) || 10;
  const utteranceEndMs = params.has('utterance_end_ms') ? Number(params.get('utterance_end_ms')) : undefined;
  const linear16 = params.get('encoding') === 'linear16';
  const vad = new VoiceActivityDetector({ endpointingMs });
  let lastInterimAt = 0;
  let lastWordEnd: number | undefined;
  let utteranceTimer: NodeJS.Timeout | undefined;
  let idle: NodeJS.Timeout | undefined;
  let closed = false;
  // Results leave in order even with a first-byte delay: a chain of sends.
  let outbox: Promise<void> = Promise.resolve();

  // A message may wait on the recognizer's words; later messages wait behind it.
  const send = (msg: object | Promise<object>, delayed = false) => {
    outbox = outbox.then(async () => {
      const body = await msg;
      const delay = o.firstByteDelayMs + chaos.slowFirstByteMs;
      if (delayed && delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (ws.readyState === ws.OPEN && !stalled) ws.send(JSON.stringify(body));
    });
  };
  const modelInfo = o.recognizer ? SPHINX_MODEL_INFO : MODEL_INFO;
  const results = (start: number, end: number, text: string | Promise<string>, isFinal: boolean, speechFinal: boolean, fromFinalize = false) => {
    send(Promise.resolve(text).then((t) => ({
      type: 'Results', channel_index: [0, 1], duration: Math.max(0, end - start), start, is_final: isFinal, speech_final: speechFinal,
      from_finalize: fromFinalize,
      channel: { alternatives: [{ transcript: t, confidence: t ? 0.5 : 0, words: [] }] },
      metadata: { request_id: requestId, model_info: modelInfo, model_uuid: '00000000-0000-0000-0000-000000000000' },
    })), isFinal);
  };
  // The recognizer's ears on the current utterance, fed from a little before the VAD's start.
  let utterance: SphinxUtterance | undefined;
  const recent: Buffer[] = [];
  let recentBytes = 0;
  const words = (label: string): string | Promise<string> => {
    const u = utterance;
    utterance = undefined;
    if (!u) return label;
    // A recognizer that fails says so in the log of nobody: the stand-in's label is the honest fallback.
    return u.end().catch(() => label);
  };
  const resetIdle = () => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => {
      if (ws.readyState === ws.OPEN) ws.close(1011, 'NET-0001: no audio or KeepAlive received within the timeout window');
    }, o.idleTimeoutMs);
  };
  const onEvents = (events: VadEvent[], fromFinalize = false) => {
    for (const e of events) {
      if (e.type === 'speech-start') {
        if (utteranceTimer) clearTimeout(utteranceTimer);
        if (vadEvents) send({ type: 'SpeechStarted', channel: [0], timestamp: e.at });
        utterance?.abort();
        utterance = o.recognizer?.start();
        for (const b of recent) utterance?.push(b);
      } else if (e.type === 'speech-end') {
        results(e.start, e.end, words(`[speech ${(e.end - e.start).toFixed(2)} s]`), true, !fromFinalize, fromFinalize);
        lastWordEnd = e.end;
        if (utteranceEndMs !== undefined) {
          if (utteranceTimer) clearTimeout(utteranceTimer);
          utteranceTimer = setTimeout(() => send({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: lastWordEnd }), utteranceEndMs);
        }
      } else {
        results(e.at, e.at + 0.04, `[dtmf ${e.digit}]`, true, true);
      }
    }
  };
  const finish = () => {
    if (closed) return;
    closed = true;
    if (idle) clearTimeout(idle);
    if (utteranceTimer) clearTimeout(utteranceTimer);
    utterance?.abort();
    utterance = undefined;
  };

  resetIdle();
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (closed) return;
    resetIdle();
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    record(isBinary ? { kind: 'binary', bytes: buf.length } : { kind: 'text', data: buf.toString('utf8') });
    if (isBinary) {
      const ulaw = linear16 ? toMulaw(buf) : buf;
      utterance?.push(ulaw);
      const events = vad.push(ulaw);
      if (o.recognizer) {
        for (const e of events) {
          onEvents([e]);
          // A start in this chunk: the recognizer has had the lead-in, now this chunk.
          if (e.type === 'speech-start') utterance?.push(ulaw);
        }
        recent.push(ulaw);
        recentBytes += ulaw.length;
        while (recentBytes - recent[0]!.length >= PRE_ROLL_BYTES) recentBytes -= recent.shift()!.length;
        // The recognizer has no partial words to give: interim results would only be the stand-in's labels.
        return;
      }
      onEvents(events);
      if (interim && vad.inSpeech && vad.position - lastInterimAt >= 0.5) {
        lastInterimAt = vad.position;
        results(vad.speechStart, vad.position, `[speech ${vad.speechSoFar.toFixed(2)} s]`, false, false);
      }
      return;
    }
    let msg: { type?: unknown };
    try {
      msg = JSON.parse(buf.toString('utf8')) as { type?: unknown };
    } catch {
      ws.close(1008, 'DATA-0000: the control message was not valid JSON');
      return;
    }
    switch (msg.type) {
      case 'KeepAlive':
        return;
      case 'Finalize': {
        const ev = vad.flush();
        if (ev.length) onEvents(ev, true);
        // Deepgram answers a Finalize with a final result flagged from_finalize, even an empty one.
        else results(vad.position, vad.position, '', true, false, true);
        return;
      }
      case 'CloseStream':
        onEvents(vad.flush(), true);
        send({ type: 'Metadata', transaction_key: 'deprecated', request_id: requestId, sha256: '', created: new Date().toISOString(), duration: vad.position, channels: 1, models: [MODEL_INFO.name], model_info: { [MODEL_INFO.name]: MODEL_INFO } });
        outbox = outbox.then(() => { if (ws.readyState === ws.OPEN) ws.close(1000); });
        return;
      default:
        ws.close(1008, `DATA-0000: unknown control message type ${JSON.stringify(msg.type)}`);
    }
  });
  ws.on('close', (code, reason) => {
    record({ kind: 'close', code, reason: reason.toString('utf8') });
    finish();
  });
  ws.on('error', finish);
}

function toMulaw(linear: Buffer): Buffer {
  const samples = new Int16Array(linear.buffer.slice(linear.byteOffset, linear.byteOffset + (linear.byteLength & ~1)));
  return Buffer.from(alawmulaw.mulaw.encode(samples));
}
