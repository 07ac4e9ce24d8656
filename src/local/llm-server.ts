import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { DelayedTlsListener, type LocalServerOptions } from './local-server.js';

/**
 * An LLM server speaking two public wire formats, written from their API
 * references: OpenAI chat completions (`POST /v1/chat/completions`, Bearer
 * auth, `stream: true` → SSE `chat.completion.chunk` … `data: [DONE]`, tool
 * calls as `tool_calls` deltas) and Anthropic messages (`POST /v1/messages`,
 * `x-api-key` + `anthropic-version`, SSE message_start … message_stop,
 * tool_use blocks with input_json_delta). HTTP/2 with TLS, HTTP/1.1 allowed.
 *
 * The reply is deterministic: it acknowledges what the caller said (the local
 * ASR's honest "[speech 1.2 s]") and, when a tool fits the request and was
 * offered, calls it. Tokens stream every `tokenIntervalMs`.
 */
export interface LlmServerOptions extends LocalServerOptions {
  tokenIntervalMs?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS announced to clients (and enforced by node:http2). Default 100. */
  maxConcurrentStreams?: number;
}

interface ChatMessage { role?: unknown; content?: unknown }
interface ToolSpec { name?: unknown; function?: { name?: unknown } }

type Reply = { kind: 'text'; text: string } | { kind: 'tool'; name: string; args: Record<string, unknown> };

function lastUserText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      return m.content.map((p: { type?: unknown; text?: unknown }) => (p && p.type === 'text' && typeof p.text === 'string' ? p.text : '')).join(' ');
    }
  }
  return '';
}

function toolNames(tools: unknown): Set<string> {
  const names = new Set<string>();
  if (Array.isArray(tools)) {
    for (const t of tools as ToolSpec[]) {
      const n = t?.function?.name ?? t?.name;
      if (typeof n === 'string') names.add(n);
    }
  }
  return names;
}

export function composeReply(messages: ChatMessage[], tools: unknown): Reply {
  const heard = lastUserText(messages).trim();
  const lastRole = messages[messages.length - 1]?.role;
  const offered = toolNames(tools);
  if (lastRole === 'tool' || lastRole === 'user' && Array.isArray(messages[messages.length - 1]?.content) && /tool_result/.test(JSON.stringify(messages[messages.length - 1]?.content))) {
    const result = JSON.stringify(messages[messages.length - 1]?.content ?? '');
    const text = /slot_taken|already booked/.test(result) ? 'That time is already taken. Would another time work?'
      : /transferring/.test(result) ? 'Connecting you now.'
      : /transfer target/.test(result) ? 'I cannot transfer you there, sorry.'
      : /appointment/.test(result) ? 'You are booked. Is there anything else I can help you with?'
      : /contact/.test(result) ? 'I found your details. Is there anything else I can help you with?'
      : 'Thanks, I have that now. Is there anything else I can help you with?';
    return { kind: 'text', text };
  }
  const dtmf = /\[dtmf (\S)\]/.exec(heard);
  // A keypad menu, since the stand-in ASR hears no words: 1 books, 2 looks the caller up.
  if (dtmf?.[1] === '1' && offered.has('book_appointment')) {
    return { kind: 'tool', name: 'book_appointment', args: { contactId: 'c_1', start: '2026-11-26T09:00:00Z', durationMin: 30 } };
  }
  if (dtmf?.[1] === '2' && offered.has('lookup_caller')) return { kind: 'tool', name: 'lookup_caller', args: { phone: '+15551230001' } };
  // 0, or asking for a person: the transfer tool, to the target named "front-desk".
  if ((dtmf?.[1] === '0' || /\b(a person|human|operator)\b/i.test(heard)) && offered.has('transfer_call')) return { kind: 'tool', name: 'transfer_call', args: { target: 'front-desk' } };
  if (dtmf) return { kind: 'text', text: `You pressed ${dtmf[1]}. Press 1 to book an appointment, or 2 to hear your details.` };
  if (/\b(book|appointment|schedule)\b/i.test(heard) && offered.has('book_appointment')) {
    return { kind: 'tool', name: 'book_appointment', args: { contactId: 'c_1', start: '2026-11-26T09:00:00Z', durationMin: 30 } };
  }
  if (/\b(who am i|look ?up|my account)\b/i.test(heard) && offered.has('lookup_caller')) {
    return { kind: 'tool', name: 'lookup_caller', args: { phone: '+15551230001' } };
  }
  if (!heard) return { kind: 'text', text: 'Hello! How can I help you today?' };
  return { kind: 'text', text: `I heard you: ${heard}. This is a local test model, so I can only tell how long you spoke. What else can I do for you?` };
}

/** Words with their trailing space: the token stream. */
function tokens(text: string): string[] {
  return text.match(/\S+\s*/g) ?? [];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function jsonError(res: Http2ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readText(req: Http2ServerRequest): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1_000_000) throw new Error('request body over 1 MB');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export async function startLlmServer(o: LlmServerOptions): Promise<DelayedTlsListener> {
  const interval = o.tokenIntervalMs ?? 5;
  const server = createSecureServer({ key: o.certificate.key, cert: o.certificate.cert, allowHTTP1: true, settings: { maxConcurrentStreams: o.maxConcurrentStreams ?? 100 } });
  const listener = new DelayedTlsListener(server, { scheme: 'https', host: o.host, port: o.port, handshakeDelayMs: o.handshakeDelayMs });

  server.on('request', (req, res) => {
    listener.stats.requests++;
    const conn = listener.recordOpen(req.method, req.url ?? '/', req.headers);
    handle(req, res, conn).catch(() => {
      if (!res.headersSent) jsonError(res, 500, { error: { message: 'internal error', type: 'server_error' } });
      else res.end();
    });
  });

  async function handle(req: Http2ServerRequest, res: Http2ServerResponse, conn: number): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/healthz') return jsonError(res, 200, { ok: true });
    if (req.method === 'GET' && path === '/v1/models') {
      // Both providers list models here; clients use it to prove a key before calling a session warm.
      const bearer = req.headers.authorization?.replace(/^Bearer /, '');
      if (bearer !== o.apiKey && req.headers['x-api-key'] !== o.apiKey) {
        return jsonError(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
      }
      return jsonError(res, 200, { object: 'list', data: [{ id: 'local-echo', object: 'model', owned_by: 'warmline' }] });
    }
    if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/messages')) {
      return jsonError(res, 404, { error: { message: `no route ${req.method} ${path}`, type: 'invalid_request_error' } });
    }
    const anthropic = path === '/v1/messages';
    const chaos = listener.chaos.error();
    if (chaos) {
      const message = chaos === 429 ? 'Rate limit reached (chaos)' : 'The server is overloaded (chaos)';
      return anthropic
        ? jsonError(res, chaos === 429 ? 429 : 529, { type: 'error', error: { type: chaos === 429 ? 'rate_limit_error' : 'overloaded_error', message } })
        : jsonError(res, chaos, { error: { message, type: chaos === 429 ? 'rate_limit_exceeded' : 'server_error', code: null } });
    }
    // Anthropic takes `x-api-key` or, as its own SDK sends since 2026, `Authorization: Bearer`.
    const bearer = req.headers.authorization?.replace(/^Bearer /, '');
    const key = anthropic ? req.headers['x-api-key'] ?? bearer : bearer;
    if (key !== o.apiKey) {
      return anthropic
        ? jsonError(res, 401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } })
        : jsonError(res, 401, { error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
    if (anthropic && !req.headers['anthropic-version']) {
      return jsonError(res, 400, { type: 'error', error: { type: 'invalid_request_error', message: 'anthropic-version header is required' } });
    }
    let body: { messages?: unknown; stream?: unknown; tools?: unknown; model?: unknown };
    try {
      const text = await readText(req);
      listener.record({ conn, kind: 'body', data: text });
      body = JSON.parse(text) as typeof body;
      if (!Array.isArray(body.messages)) throw new Error('messages must be an array');
    } catch (err) {
      const message = `could not parse the request body: ${(err as Error).message}`;
      return anthropic
        ? jsonError(res, 400, { type: 'error', error: { type: 'invalid_request_error', message } })
        : jsonError(res, 400, { error: { message, type: 'invalid_request_error', code: null } });
    }
    const reply = composeReply(body.messages as ChatMessage[], body.tools);
    const model = typeof body.model === 'string' ? body.model : 'local';
    let aborted = false;
    res.on('close', () => { aborted = true; });
    const delay = o.firstByteDelayMs + listener.chaos.slowFirstByteMs;
    if (delay > 0) await sleep(delay);
    if (body.stream !== true) return jsonError(res, 200, anthropic ? anthropicMessage(reply, model) : openAiCompletion(reply, model));
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const events = anthropic ? anthropicEvents(reply, model) : openAiEvents(reply, model);
    // A stalled stream sends its first event and then nothing, holding the stream open until the client gives up.
    const stallAfter = listener.chaos.stall() ? 1 : Infinity;
    let sent = 0;
    for (const e of events) {
      if (aborted) return;
      if (sent++ >= stallAfter) {
        await new Promise<void>((r) => res.once('close', () => r()));
        return;
      }
      res.write(e);
      await sleep(interval);
    }
    res.end();
  }

  await listener.listen();
  return listener;
}

function openAiCompletion(reply: Reply, model: string): object {
  const message = reply.kind === 'text'
    ? { role: 'assistant', content: reply.text }
    : { role: 'assistant', content: null, tool_calls: [{ id: 'call_local_1', type: 'function', function: { name: reply.name, arguments: JSON.stringify(reply.args) } }] };
  return { id: 'chatcmpl-local', object: 'chat.completion', created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, message, finish_reason: reply.kind === 'text' ? 'stop' : 'tool_calls' }] };
}

function* openAiEvents(reply: Reply, model: string): Generator<string> {
  const base = { id: 'chatcmpl-local', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model };
  const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  yield chunk({ role: 'assistant', content: '' });
  if (reply.kind === 'text') {
    for (const t of tokens(reply.text)) yield chunk({ content: t });
    yield chunk({}, 'stop');
  } else {
    yield chunk({ tool_calls: [{ index: 0, id: 'call_local_1', type: 'function', function: { name: reply.name, arguments: '' } }] });
    const args = JSON.stringify(reply.args);
    for (let i = 0; i < args.length; i += 12) yield chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(i, i + 12) } }] });
    yield chunk({}, 'tool_calls');
  }
  yield 'data: [DONE]\n\n';
}

function anthropicMessage(reply: Reply, model: string): object {
  const content = reply.kind === 'text' ? [{ type: 'text', text: reply.text }] : [{ type: 'tool_use', id: 'toolu_local_1', name: reply.name, input: reply.args }];
  return { id: 'msg_local', type: 'message', role: 'assistant', model, content, stop_reason: reply.kind === 'text' ? 'end_turn' : 'tool_use', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } };
}

function* anthropicEvents(reply: Reply, model: string): Generator<string> {
  const ev = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  yield ev('message_start', { message: { id: 'msg_local', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } });
  if (reply.kind === 'text') {
    yield ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    yield ev('ping', {});
    for (const t of tokens(reply.text)) yield ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } });
  } else {
    yield ev('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_local_1', name: reply.name, input: {} } });
    const args = JSON.stringify(reply.args);
    for (let i = 0; i < args.length; i += 12) yield ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: args.slice(i, i + 12) } });
  }
  yield ev('content_block_stop', { index: 0 });
  yield ev('message_delta', { delta: { stop_reason: reply.kind === 'text' ? 'end_turn' : 'tool_use', stop_sequence: null }, usage: { output_tokens: 10 } });
  yield ev('message_stop', {});
}
