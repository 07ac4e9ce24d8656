import type { ClientHttp2Session } from 'node:http2';
import type { Readable } from 'node:stream';
import type { ConnectionFactory } from '../pools/types.js';
import { UpstreamAuthError, UpstreamProtocolError, UpstreamTimeoutError, excerpt } from './errors.js';
import { Http2Session, type Http2SessionOptions } from './http2-session.js';
import { parseSse } from './sse.js';

/**
 * A chat model over a warm HTTP/2 session, streaming: OpenAI chat completions
 * (`POST /v1/chat/completions`, SSE `chat.completion.chunk`, `[DONE]`) or
 * Anthropic messages (`POST /v1/messages`, SSE `content_block_delta` …
 * `message_stop`), per the providers' API references.
 */
export type LlmProvider = 'openai' | 'anthropic';

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments. */
  arguments: string;
}

export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string };

export interface ToolDefinition {
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
}

export type LlmEvent =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'done'; finishReason: string };

export interface ChatRequest {
  leaseId: string;
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  model?: string;
  maxTokens?: number;
  signal?: AbortSignal;
}

export interface LlmOptions {
  provider: LlmProvider;
  /** `https://api.openai.com`, `https://api.anthropic.com`, or a compatible server. */
  baseUrl: string;
  apiKey: string;
  ca?: string | undefined;
  model: string;
  streamsPerSession: number;
  connectTimeoutMs?: number;
  /**
   * A reply that sends nothing (no headers, no event) for this long is given
   * up with WL_ERR_UPSTREAM_TIMEOUT: a stalled stream must not hold a turn.
   * Default 10000.
   */
  streamIdleTimeoutMs?: number;
}

/**
 * What Anthropic's own TypeScript SDK (1.15) sends: the key as a Bearer token
 * and this API version. The tests in test/integration/providers hold our
 * requests to the SDK's, so a drift on either side shows there.
 */
const ANTHROPIC_VERSION = '2026-10-21';

export class LlmSession extends Http2Session {
  readonly #o: LlmOptions;

  private constructor(session: ClientHttp2Session, o: LlmOptions, h2: Http2SessionOptions) {
    super(session, h2);
    this.#o = o;
  }

  static async open(o: LlmOptions, signal: AbortSignal): Promise<LlmSession> {
    const h2: Http2SessionOptions = { provider: o.provider, origin: new URL(o.baseUrl).origin, ca: o.ca, maxStreams: o.streamsPerSession, ...(o.connectTimeoutMs !== undefined && { connectTimeoutMs: o.connectTimeoutMs }) };
    const session = new LlmSession(await Http2Session.connectSession(h2, signal), o, h2);
    try {
      await session.#checkKey();
    } catch (err) {
      session.destroy();
      throw err;
    }
    return session;
  }

  #authHeaders(): Record<string, string> {
    return this.#o.provider === 'anthropic'
      ? { authorization: `Bearer ${this.#o.apiKey}`, 'anthropic-version': ANTHROPIC_VERSION }
      : { authorization: `Bearer ${this.#o.apiKey}` };
  }

  /**
   * Both providers list models at GET /v1/models: a cheap request that proves
   * the key before the session is called warm (and warms the request path).
   * A server without the route (404) is accepted.
   */
  async #checkKey(): Promise<void> {
    const res = await this.request('open', 'GET', '/v1/models', this.#authHeaders(), undefined);
    const body = await Http2Session.text(res.stream, 4000).catch(() => '');
    if (res.status === 401 || res.status === 403) {
      throw new UpstreamAuthError({ provider: this.provider, url: `${this.origin}/v1/models`, status: res.status, body: excerpt(body) });
    }
  }

  /** Streams one reply. Abort with `signal`: the stream is cancelled, the session stays. */
  async *chat(req: ChatRequest): AsyncGenerator<LlmEvent> {
    const anthropic = this.#o.provider === 'anthropic';
    const path = anthropic ? '/v1/messages' : '/v1/chat/completions';
    const body = anthropic ? anthropicBody(req, this.#o.model) : openAiBody(req, this.#o.model);
    const idleMs = this.#o.streamIdleTimeoutMs ?? 10_000;
    const watchdog = new AbortController();
    let timer = setTimeout(() => watchdog.abort(), idleMs);
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => watchdog.abort(), idleMs);
    };
    const signal = req.signal ? AbortSignal.any([req.signal, watchdog.signal]) : watchdog.signal;
    try {
      const res = await this.request(req.leaseId, 'POST', path, { ...this.#authHeaders(), 'content-type': 'application/json', accept: 'text/event-stream' }, JSON.stringify(body), signal);
      rearm();
      res.stream.on('data', rearm);
      if (res.status === 401 || res.status === 403) {
        throw new UpstreamAuthError({ provider: this.provider, url: `${this.origin}${path}`, status: res.status, body: excerpt(await Http2Session.text(res.stream, 2000).catch(() => '')) });
      }
      if (res.status < 200 || res.status >= 300) throw await this.httpError(res, path);
      yield* anthropic ? this.#anthropicEvents(res.stream, path) : this.#openAiEvents(res.stream, path);
    } catch (err) {
      if (watchdog.signal.aborted && !req.signal?.aborted) {
        throw new UpstreamTimeoutError({ provider: this.provider, url: `${this.origin}${path}`, what: 'the reply (silent)', timeoutMs: idleMs }, { cause: err });
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  #protocolError(path: string, reason: string, text: string): Error {
    return new UpstreamProtocolError({ provider: this.provider, url: `${this.origin}${path}`, reason, excerpt: excerpt(text) });
  }

  async *#openAiEvents(stream: Readable, path: string): AsyncGenerator<LlmEvent> {
    const calls = new Map<number, ToolCall>();
    let finish = '';
    for await (const e of parseSse(stream)) {
      if (e.data === '[DONE]') break;
      let chunk: { choices?: Array<{ delta?: { content?: unknown; tool_calls?: Array<{ index?: number; id?: string; function?: { name?: string; arguments?: string } }> }; finish_reason?: unknown }> };
      try {
        chunk = JSON.parse(e.data) as typeof chunk;
      } catch {
        throw this.#protocolError(path, 'an SSE data line that is not JSON', e.data);
      }
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const content = choice.delta?.content;
      if (typeof content === 'string' && content !== '') yield { type: 'text', text: content };
      for (const tc of choice.delta?.tool_calls ?? []) {
        const i = tc.index ?? 0;
        const call = calls.get(i) ?? { id: '', name: '', arguments: '' };
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name = tc.function.name;
        if (tc.function?.arguments) call.arguments += tc.function.arguments;
        calls.set(i, call);
      }
      if (typeof choice.finish_reason === 'string') finish = choice.finish_reason;
    }
    for (const call of calls.values()) yield { type: 'tool_call', call };
    if (!finish) throw this.#protocolError(path, 'the stream ended without a finish_reason', '');
    yield { type: 'done', finishReason: finish };
  }

  async *#anthropicEvents(stream: Readable, path: string): AsyncGenerator<LlmEvent> {
    const blocks = new Map<number, ToolCall>();
    let stop = '';
    let ended = false;
    for await (const e of parseSse(stream)) {
      let msg: { type?: string; index?: number; content_block?: { type?: string; id?: string; name?: string }; delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string }; error?: { message?: string } };
      try {
        msg = JSON.parse(e.data) as typeof msg;
      } catch {
        throw this.#protocolError(path, 'an SSE data line that is not JSON', e.data);
      }
      switch (msg.type) {
        case 'content_block_start':
          if (msg.content_block?.type === 'tool_use') blocks.set(msg.index ?? 0, { id: msg.content_block.id ?? '', name: msg.content_block.name ?? '', arguments: '' });
          break;
        case 'content_block_delta':
          if (msg.delta?.type === 'text_delta' && msg.delta.text) yield { type: 'text', text: msg.delta.text };
          else if (msg.delta?.type === 'input_json_delta') {
            const b = blocks.get(msg.index ?? 0);
            if (b) b.arguments += msg.delta.partial_json ?? '';
          }
          break;
        case 'message_delta':
          if (msg.delta?.stop_reason) stop = msg.delta.stop_reason;
          break;
        case 'message_stop':
          ended = true;
          break;
        case 'error':
          throw this.#protocolError(path, `error event: ${msg.error?.message ?? 'unknown'}`, e.data);
        default:
          break;
      }
      if (ended) break;
    }
    for (const call of blocks.values()) yield { type: 'tool_call', call };
    if (!ended) throw this.#protocolError(path, 'the stream ended without message_stop', '');
    yield { type: 'done', finishReason: stop || 'end_turn' };
  }
}

function openAiBody(req: ChatRequest, model: string): object {
  return {
    model: req.model ?? model,
    stream: true,
    ...(req.maxTokens !== undefined && { max_tokens: req.maxTokens }),
    messages: req.messages.map((m) => {
      if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
      if (m.role === 'assistant' && m.toolCalls?.length) {
        return { role: 'assistant', content: m.content || null, tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) };
      }
      return { role: m.role, content: m.content };
    }),
    ...(req.tools?.length && { tools: req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } })) }),
  };
}

function anthropicBody(req: ChatRequest, model: string): object {
  const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n\n');
  const messages = req.messages.filter((m) => m.role !== 'system').map((m) => {
    if (m.role === 'tool') return { role: 'user', content: [{ type: 'tool_result', tool_use_id: m.toolCallId, content: m.content }] };
    if (m.role === 'assistant' && m.toolCalls?.length) {
      return { role: 'assistant', content: [...(m.content ? [{ type: 'text', text: m.content }] : []), ...m.toolCalls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: safeJson(c.arguments) }))] };
    }
    return { role: m.role, content: m.content };
  });
  return {
    model: req.model ?? model,
    stream: true,
    max_tokens: req.maxTokens ?? 512,
    ...(system && { system }),
    messages,
    ...(req.tools?.length && { tools: req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters })) }),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text || '{}');
  } catch {
    return {};
  }
}

export function createLlmFactory(o: LlmOptions): ConnectionFactory<LlmSession> {
  return {
    upstream: 'llm',
    key: `${o.provider}|${o.baseUrl}|${o.model}`,
    open: (signal) => LlmSession.open(o, signal),
  };
}
