import assert from 'node:assert/strict';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { Agent, fetch as undiciFetch } from 'undici';
import { startLocalUpstreams, type LocalUpstreams, type WireRecord } from '../../../src/local/index.js';
import { createLlmFactory, type ChatMessage, type LlmEvent, type ToolDefinition } from '../../../src/upstreams/index.js';

/**
 * The providers' own SDKs (openai, @anthropic-ai/sdk) as witnesses: each must
 * stream a reply with a tool call from the local LLM server, and our connector
 * must put the same request on the wire (method, path, auth headers, JSON body)
 * as the SDK does for the same conversation.
 */
type Open = Extract<WireRecord, { kind: 'open' }>;

const BOOK: ToolDefinition = {
  name: 'book_appointment',
  description: 'Books an appointment for a contact',
  parameters: { type: 'object', properties: { contactId: { type: 'string' }, start: { type: 'string' } }, required: ['contactId', 'start'] },
};
const SYSTEM = 'You are a receptionist. Be brief.';
const USER = 'I would like to book an appointment';
const CALL = { id: 'call_1', name: 'book_appointment', arguments: '{"contactId":"c_1","start":"2026-11-26T09:00:00Z"}' };
const RESULT = '{"appointment":{"id":"a_1"}}';

/** The conversation as our connector takes it: a turn that asked for a tool, and the tool's answer. */
const OURS: ChatMessage[] = [
  { role: 'system', content: SYSTEM },
  { role: 'user', content: USER },
  { role: 'assistant', content: '', toolCalls: [CALL] },
  { role: 'tool', toolCallId: CALL.id, name: CALL.name, content: RESULT },
];

/** The exchange recorded for `path`: its opening (method, headers) and its JSON body. */
function exchange(wire: WireRecord[], path: string, nth = 0): { open: Open; body: unknown } {
  const opens = wire.filter((r): r is Open => r.kind === 'open' && r.path === path);
  const open = opens[nth];
  assert.ok(open, `no request ${nth} to ${path} recorded: ${JSON.stringify(wire.filter((r) => r.kind === 'open').map((r) => (r as Open).path))}`);
  const body = wire.find((r) => r.kind === 'body' && r.conn === open.conn);
  return { open, body: body && body.kind === 'body' ? JSON.parse(body.data) : undefined };
}

async function collect(it: AsyncIterable<LlmEvent>): Promise<LlmEvent[]> {
  const out: LlmEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe('providers: official OpenAI and Anthropic SDKs against the local LLM server', function () {
  this.timeout(30000);
  let up: LocalUpstreams;
  let dispatcher: Agent;
  // The SDKs take a fetch; undici's, with an agent that trusts the local certificate, keeps everything in process.
  const fetchWithCa = (url: string | URL | Request, init?: RequestInit) => undiciFetch(url as never, { ...(init as object), dispatcher } as never) as unknown as Promise<Response>;
  before(async () => {
    up = await startLocalUpstreams();
    dispatcher = new Agent({ connect: { ca: up.ca } });
  });
  after(async () => {
    await dispatcher.close();
    await up.close();
  });

  it('OpenAI: the SDK streams a tool call, and our connector sends the same request', async () => {
    const wire = up.llm.recordWire();
    const sdk = new OpenAI({ apiKey: 'local-dev-key', baseURL: `${up.llm.url}/v1`, fetch: fetchWithCa, maxRetries: 0 });
    const models = await sdk.models.list();
    assert.ok(models.data.length > 0);
    const tools = [{ type: 'function' as const, function: { name: BOOK.name, description: BOOK.description, parameters: BOOK.parameters } }];
    const stream = await sdk.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: USER }], tools });
    let name = '';
    let args = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      for (const tc of choice?.delta.tool_calls ?? []) {
        name += tc.function?.name ?? '';
        args += tc.function?.arguments ?? '';
      }
      finish = choice?.finish_reason ?? finish;
    }
    assert.equal(name, 'book_appointment');
    assert.equal(finish, 'tool_calls');
    assert.equal((JSON.parse(args) as { contactId: string }).contactId, 'c_1');
    // The second request of the turn: the tool's answer goes back, the reply is text.
    const second = await sdk.chat.completions.create({
      model: 'gpt-4o-mini', stream: true, tools,
      messages: [
        { role: 'system', content: SYSTEM }, { role: 'user', content: USER },
        { role: 'assistant', content: null, tool_calls: [{ id: CALL.id, type: 'function', function: { name: CALL.name, arguments: CALL.arguments } }] },
        { role: 'tool', tool_call_id: CALL.id, content: RESULT },
      ],
    });
    let text = '';
    for await (const chunk of second) text += chunk.choices[0]?.delta.content ?? '';
    assert.match(text, /booked/);

    const ours = await createLlmFactory({ provider: 'openai', baseUrl: up.llm.url, apiKey: 'local-dev-key', ca: up.ca, model: 'gpt-4o-mini', streamsPerSession: 10 }).open(new AbortController().signal);
    try {
      const first = await collect(ours.chat({ leaseId: 'l1', messages: OURS.slice(0, 2), tools: [BOOK] }));
      assert.ok(first.some((e) => e.type === 'tool_call' && e.call.name === 'book_appointment'));
      const reply = await collect(ours.chat({ leaseId: 'l1', messages: OURS, tools: [BOOK] }));
      assert.match(reply.filter((e) => e.type === 'text').map((e) => (e.type === 'text' ? e.text : '')).join(''), /booked/);
    } finally { await ours.close(); }

    const sdkModels = exchange(wire, '/v1/models', 0);
    const ourModels = exchange(wire, '/v1/models', 1);
    assert.equal(ourModels.open.method, sdkModels.open.method);
    assert.equal(ourModels.open.headers.authorization, sdkModels.open.headers.authorization);
    for (const nth of [0, 1]) {
      const theirs = exchange(wire, '/v1/chat/completions', nth);
      const mine = exchange(wire, '/v1/chat/completions', nth + 2);
      assert.equal(mine.open.method, 'POST');
      assert.equal(mine.open.method, theirs.open.method);
      assert.equal(mine.open.headers.authorization, theirs.open.headers.authorization);
      assert.equal(mine.open.headers['content-type'], theirs.open.headers['content-type']);
      assert.deepEqual(mine.body, theirs.body, `request ${nth} differs from the SDK's`);
    }
  });

  it('Anthropic: the SDK streams a tool_use, and our connector sends the same request', async () => {
    const wire = up.llm.recordWire();
    const sdk = new Anthropic({ apiKey: 'local-dev-key', baseURL: up.llm.url, fetch: fetchWithCa, maxRetries: 0 });
    const tools = [{ name: BOOK.name, description: BOOK.description, input_schema: BOOK.parameters as Anthropic.Tool.InputSchema }];
    const message = await sdk.messages.stream({ model: 'claude-haiku', max_tokens: 512, system: SYSTEM, messages: [{ role: 'user', content: USER }], tools }).finalMessage();
    const use = message.content.find((b) => b.type === 'tool_use');
    assert.ok(use && use.type === 'tool_use', JSON.stringify(message.content));
    assert.equal(use.name, 'book_appointment');
    assert.equal((use.input as { contactId: string }).contactId, 'c_1');
    assert.equal(message.stop_reason, 'tool_use');
    const reply = await sdk.messages.stream({
      model: 'claude-haiku', max_tokens: 512, system: SYSTEM, tools,
      messages: [
        { role: 'user', content: USER },
        { role: 'assistant', content: [{ type: 'tool_use', id: CALL.id, name: CALL.name, input: JSON.parse(CALL.arguments) as Record<string, unknown> }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: CALL.id, content: RESULT }] },
      ],
    }).finalMessage();
    assert.match(reply.content.map((b) => (b.type === 'text' ? b.text : '')).join(''), /booked/);

    const ours = await createLlmFactory({ provider: 'anthropic', baseUrl: up.llm.url, apiKey: 'local-dev-key', ca: up.ca, model: 'claude-haiku', streamsPerSession: 10 }).open(new AbortController().signal);
    try {
      const first = await collect(ours.chat({ leaseId: 'l1', messages: OURS.slice(0, 2), tools: [BOOK], maxTokens: 512 }));
      assert.ok(first.some((e) => e.type === 'tool_call' && e.call.name === 'book_appointment'));
      await collect(ours.chat({ leaseId: 'l1', messages: OURS, tools: [BOOK], maxTokens: 512 }));
    } finally { await ours.close(); }

    for (const nth of [0, 1]) {
      const theirs = exchange(wire, '/v1/messages', nth);
      const mine = exchange(wire, '/v1/messages', nth + 2);
      assert.equal(mine.open.method, theirs.open.method);
      for (const h of ['authorization', 'x-api-key', 'anthropic-version', 'content-type']) assert.equal(mine.open.headers[h], theirs.open.headers[h], h);
      assert.deepEqual(mine.body, theirs.body, `request ${nth} differs from the SDK's`);
    }
  });
});
