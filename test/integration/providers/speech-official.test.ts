import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { createRequire } from 'node:module';
import { DeepgramClient } from '@deepgram/sdk';
import { WebSocket } from 'ws';
import { startLocalUpstreams, Synthesizer, type LocalUpstreams, type WireRecord } from '../../../src/local/index.js';
import { createDeepgramFactory, createElevenLabsFactory } from '../../../src/upstreams/index.js';
import { until } from '../../support/wait.js';

/**
 * Deepgram's SDK (@deepgram/sdk) as a second client of the local ASR, and
 * ElevenLabs' SDK (@elevenlabs/elevenlabs-js) as the judge of TTS messages:
 * that SDK ships no WebSocket client for stream-input in JavaScript, only the
 * generated wire schemas of every message (SendMessageMulti, ReceiveMessageMulti…),
 * so our connector's messages and the local server's must parse under them.
 */
type Open = Extract<WireRecord, { kind: 'open' }>;
interface Schema { parse(raw: unknown, opts: { unrecognizedObjectKeys: 'fail' }): { ok: boolean; errors?: unknown } ; jsonOrThrow(v: unknown): unknown }
const require = createRequire(import.meta.url);
const el = require('@elevenlabs/elevenlabs-js/serialization/index.js') as Record<string, Schema>;

const strict = (schema: string, msg: unknown) => {
  const r = el[schema]!.parse(msg, { unrecognizedObjectKeys: 'fail' });
  assert.ok(r.ok, `${JSON.stringify(msg)} is not a ${schema}: ${JSON.stringify(r.errors)}`);
};
const texts = (wire: WireRecord[], conn: number) => wire.flatMap((r) => (r.conn === conn && r.kind === 'text' ? [r.data] : []));
const opens = (wire: WireRecord[]) => wire.filter((r): r is Open => r.kind === 'open');
const closeOf = (wire: WireRecord[], conn: number) => wire.find((r) => r.conn === conn && r.kind === 'close');

describe('providers: official Deepgram and ElevenLabs SDKs against the local speech servers', function () {
  this.timeout(30000);
  let up: LocalUpstreams;
  let speech: Buffer;
  before(async () => {
    up = await startLocalUpstreams();
    speech = await new Synthesizer().synthesize('hello there, I would like an appointment');
  });
  after(async () => { await up.close(); });

  it('Deepgram: the SDK streams live, and our connector opens the same URL and sends the same control messages', async () => {
    const wire = up.asr.recordWire();
    const params = { model: 'nova-2', language: 'en-US', encoding: 'mulaw', sample_rate: 8000, channels: 1, interim_results: 'true', endpointing: 300, vad_events: 'true' };
    const client = new DeepgramClient({ apiKey: 'local-dev-key', baseUrl: up.asr.url, agent: new Agent({ ca: up.ca }) } as ConstructorParameters<typeof DeepgramClient>[0]);
    const sdk = await client.listen.v1.connect({ ...params, reconnectAttempts: 0 } as unknown as Parameters<typeof client.listen.v1.connect>[0]);
    const messages: Array<{ type?: string; is_final?: boolean; from_finalize?: boolean; channel?: { alternatives?: Array<{ transcript?: string }> } }> = [];
    let closed: number | undefined;
    sdk.on('message', (m: unknown) => { messages.push(m as (typeof messages)[number]); });
    sdk.on('close', (e: unknown) => { closed = (e as { code?: number }).code ?? 0; });
    sdk.connect();
    await sdk.waitForOpen();
    for (let i = 0; i < speech.length; i += 160) sdk.sendMedia(speech.subarray(i, i + 160));
    sdk.sendMedia(Buffer.alloc(8000, 0xff));
    sdk.sendKeepAlive({ type: 'KeepAlive' });
    sdk.sendFinalize({ type: 'Finalize' });
    await until(() => messages.some((m) => m.type === 'Results' && m.from_finalize === true), 'the SDK sees the Finalize answer');
    sdk.sendCloseStream({ type: 'CloseStream' });
    await until(() => closed !== undefined, 'the SDK sees the close');
    assert.ok(messages.some((m) => m.type === 'Results' && m.is_final && (m.channel?.alternatives?.[0]?.transcript ?? '') !== ''), 'a final transcript reached the SDK');
    assert.ok(messages.some((m) => m.type === 'SpeechStarted'));
    assert.ok(messages.some((m) => m.type === 'Metadata'));
    assert.equal(closed, 1000);

    const ours = await createDeepgramFactory({ baseUrl: up.asr.url, apiKey: 'local-dev-key', ca: up.ca, model: 'nova-2', language: 'en-US', endpointingMs: 300 }).open(new AbortController().signal);
    ours.sendAudio(Buffer.alloc(1600, 0xff));
    await ours.keepalive();
    ours.finalize();
    await ours.close();
    await until(() => opens(wire).length === 2 && closeOf(wire, opens(wire)[1]!.conn) !== undefined, 'our connector closed');

    const [theirs, mine] = opens(wire) as [Open, Open];
    assert.equal(mine.path, theirs.path);
    assert.deepEqual(mine.query, theirs.query);
    assert.equal(mine.headers.authorization, theirs.headers.authorization);
    const types = (conn: number) => texts(wire, conn).map((t) => (JSON.parse(t) as { type: string }).type);
    assert.deepEqual(types(mine.conn), types(theirs.conn));
    assert.deepEqual(types(mine.conn), ['KeepAlive', 'Finalize', 'CloseStream']);
    const c1 = closeOf(wire, theirs.conn);
    const c2 = closeOf(wire, mine.conn);
    assert.ok(c1?.kind === 'close' && c2?.kind === 'close');
    assert.equal(c2.code, c1.code);
  });

  it('ElevenLabs multi-stream: messages built by the SDK serializers are served, and every server message fits the SDK schema', async () => {
    const ws = new WebSocket(`${up.tts.url}/v1/text-to-speech/v1/multi-stream-input?model_id=m1&output_format=ulaw_8000`, { headers: { 'xi-api-key': 'local-dev-key' }, ca: up.ca });
    const got: unknown[] = [];
    ws.on('message', (d) => got.push(JSON.parse(d.toString())));
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    const send = (schema: string, v: unknown) => ws.send(JSON.stringify(el[schema]!.jsonOrThrow(v)));
    send('InitializeConnectionMulti', { text: ' ', contextId: 'c1', voiceSettings: { stability: 0.5, similarityBoost: 0.8 } });
    send('SendTextMulti', { text: 'Hello from the official message shapes. ', contextId: 'c1' });
    send('KeepContextAlive', { text: '', contextId: 'c1' });
    send('FlushContext', { contextId: 'c1', flush: true });
    await until(() => got.some((m) => (m as { isFinal?: boolean }).isFinal === true), 'the flushed context ends');
    send('CloseContext', { contextId: 'c1', closeContext: true });
    send('CloseSocket', { closeSocket: true });
    const code = await new Promise<number>((r) => ws.once('close', (c) => r(c)));
    assert.equal(code, 1000);
    assert.ok(got.some((m) => typeof (m as { audio?: string }).audio === 'string'), 'audio arrived');
    for (const m of got) strict('ReceiveMessageMulti', m);
  });

  it('ElevenLabs: every message our connector sends fits the SDK schema, with the key in the xi-api-key header', async () => {
    for (const multi of [true, false]) {
      const wire = up.tts.recordWire();
      const conn = await createElevenLabsFactory({ baseUrl: up.tts.url, apiKey: 'local-dev-key', ca: up.ca, voiceId: 'v1', modelId: 'm1', multiContext: multi }).open(new AbortController().signal);
      await conn.keepalive();
      const ctx = conn.context('lease-1');
      let done = false;
      ctx.on('done', () => { done = true; });
      await conn.keepalive();
      ctx.speak('A short sentence.');
      ctx.flush();
      await until(() => done, 'the generation ends');
      if (multi) {
        await conn.reset('lease-1');
        await conn.close();
      }
      await until(() => wire.some((r) => r.kind === 'close'), 'the socket closed');
      const open = opens(wire)[0]!;
      assert.equal(open.path, `/v1/text-to-speech/v1/${multi ? 'multi-stream-input' : 'stream-input'}`);
      assert.equal(open.headers['xi-api-key'], 'local-dev-key');
      assert.equal(open.query.output_format, 'ulaw_8000');
      const sent = texts(wire, open.conn).map((t) => JSON.parse(t) as unknown);
      assert.ok(sent.length >= 4, JSON.stringify(sent));
      for (const m of sent) strict(multi ? 'SendMessageMulti' : 'SendMessage', m);
    }
  });
});
