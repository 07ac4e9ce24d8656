import assert from 'node:assert/strict';
import { createServer as createHttpsServer } from 'node:https';
import { WebSocketServer } from 'ws';
import { startLocalUpstreams, type LocalUpstreams } from '../../../src/local/index.js';
import {
  createElevenLabsFactory, createLlmFactory, createCrmFactory, createDeepgramFactory, SlotTakenError,
  type LlmEvent, type ElevenLabsConnection,
} from '../../../src/upstreams/index.js';
import { makeCertificate } from '../../../src/local/tls-certificate.js';
import { until } from '../../support/wait.js';

const signal = () => new AbortController().signal;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}


describe('upstreams: TTS, LLM and CRM against the local servers', function () {
  this.timeout(30000);
  let up: LocalUpstreams;
  before(async () => { up = await startLocalUpstreams({ ttsInactivityTimeoutMs: 20000 }); });
  after(async () => { await up.close(); });

  const tts = (multiContext: boolean, extra: object = {}) => createElevenLabsFactory({ baseUrl: up.tts.url, apiKey: 'local-dev-key', ca: up.ca, voiceId: 'v1', modelId: 'm1', multiContext, ...extra });

  describe('ElevenLabs', () => {
    it('multi-context: each context gets its own µ-law audio and a done, and the socket is reusable', async () => {
      const conn = await tts(true).open(signal());
      try {
        assert.equal(conn.capacity, 5);
        const a = conn.context('lease-a');
        const b = conn.context('lease-b');
        const audio = { a: 0, b: 0 };
        let done = 0;
        a.on('audio', (buf) => { audio.a += buf.length; });
        b.on('audio', (buf) => { audio.b += buf.length; });
        a.on('done', () => done++);
        b.on('done', () => done++);
        a.speak('Hello from the first call.');
        b.speak('And a much longer sentence from the second call, spoken at the same time.');
        a.flush();
        b.flush();
        await until(() => done === 2, 'both contexts done');
        // about 8,000 bytes a second: the longer text gives more audio
        assert.ok(audio.a > 4000, `audio a ${audio.a}`);
        assert.ok(audio.b > audio.a, `audio b ${audio.b} vs a ${audio.a}`);
        assert.equal(await conn.reset('lease-a'), true);
        assert.equal(await conn.reset('lease-b'), true);
        assert.equal(conn.usable, true);
      } finally { await conn.close(); }
    });

    it('multi-context: cancel (barge-in) stops that context\'s audio and leaves the other', async () => {
      const conn = await tts(true).open(signal());
      try {
        const a = conn.context('x');
        const b = conn.context('y');
        let aAfterCancel = 0;
        let cancelled = false;
        let bDone = false;
        a.on('audio', (buf) => { if (cancelled) aAfterCancel += buf.length; });
        b.on('done', () => { bDone = true; });
        a.speak('This sentence will be interrupted by the caller before it is finished playing out.');
        a.flush();
        await new Promise<void>((r) => a.once('audio', () => r()));
        a.cancel();
        cancelled = true;
        b.speak('Still here.');
        b.flush();
        await until(() => bDone, 'the other context finishes');
        assert.equal(aAfterCancel, 0);
      } finally { await conn.close(); }
    });

    it('single stream: end of input gives final audio, then the socket is not reused', async () => {
      const conn: ElevenLabsConnection = await tts(false).open(signal());
      const ctx = conn.context('only');
      let bytes = 0;
      let done = false;
      ctx.on('audio', (b) => { bytes += b.length; });
      ctx.on('done', () => { done = true; });
      ctx.speak('One short sentence.');
      ctx.flush();
      await until(() => done, 'single stream done');
      assert.ok(bytes > 2000);
      assert.equal(await conn.reset('only'), false, 'a used single stream is replaced, not reused');
      conn.destroy();
    });

    it('keepalive keeps a socket open past the inactivity timeout', async () => {
      const short = await startLocalUpstreams({ ttsInactivityTimeoutMs: 400 });
      try {
        const factory = createElevenLabsFactory({ baseUrl: short.tts.url, apiKey: 'local-dev-key', ca: short.ca, voiceId: 'v', modelId: 'm', multiContext: true, inactivityTimeoutS: 1 });
        const conn = await factory.open(signal());
        let closed = false;
        conn.on('close', () => { closed = true; });
        // A socket without keepalive, opened after `conn`, is closed by the 1 s inactivity timeout;
        // until then `conn` gets a keepalive every 250 ms.
        const control = await factory.open(signal());
        let controlClosed = false;
        control.on('close', () => { controlClosed = true; });
        const failed: unknown[] = [];
        const keep = setInterval(() => conn.keepalive().catch((err: unknown) => failed.push(err)), 250);
        try {
          await until(() => controlClosed, 'the inactivity timeout to close the socket without keepalive');
        } finally {
          clearInterval(keep);
        }
        assert.deepEqual(failed, []);
        assert.equal(closed, false, 'kept alive past the 1 s inactivity timeout');
        await new Promise<void>((r) => conn.once('close', () => r()));
        assert.equal(closed, true, 'and closed once keepalive stopped');
      } finally { await short.close(); }
    });

    it('a rejected key is WL_ERR_UPSTREAM_AUTH (permanent)', async () => {
      await assert.rejects(tts(true, { apiKey: 'nope' }).open(signal()), (e: Error & { code?: string; permanent?: boolean }) => e.code === 'WL_ERR_UPSTREAM_AUTH' && e.permanent === true);
    });
  });

  describe('LLM', () => {
    const llm = (provider: 'openai' | 'anthropic', apiKey = 'local-dev-key') => createLlmFactory({ provider, baseUrl: up.llm.url, apiKey, ca: up.ca, model: 'm', streamsPerSession: 50 });

    for (const provider of ['openai', 'anthropic'] as const) {
      it(`${provider}: streams a reply token by token over a warm session, then done`, async () => {
        const s = await llm(provider).open(signal());
        try {
          const events = await collect(s.chat({ leaseId: 'l1', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: '[speech 1.20 s]' }] }));
          const text = events.filter((e): e is Extract<LlmEvent, { type: 'text' }> => e.type === 'text');
          assert.ok(text.length > 3, 'several tokens');
          assert.match(text.map((t) => t.text).join(''), /I heard you: \[speech 1\.20 s\]/);
          assert.deepEqual(events.at(-1), { type: 'done', finishReason: provider === 'openai' ? 'stop' : 'end_turn' });
        } finally { await s.close(); }
      });

      it(`${provider}: a tool call arrives whole, with its JSON arguments`, async () => {
        const s = await llm(provider).open(signal());
        try {
          const events = await collect(s.chat({
            leaseId: 'l2',
            messages: [{ role: 'user', content: 'I would like to book an appointment' }],
            tools: [{ name: 'book_appointment', description: 'book', parameters: { type: 'object' } }],
          }));
          const call = events.find((e) => e.type === 'tool_call');
          assert.ok(call && call.type === 'tool_call');
          assert.equal(call.call.name, 'book_appointment');
          assert.deepEqual(JSON.parse(call.call.arguments), { contactId: 'c_1', start: '2026-11-26T09:00:00Z', durationMin: 30 });
        } finally { await s.close(); }
      });
    }

    it('aborting a stream mid-reply cancels that stream only: the session serves the next request', async () => {
      const s = await llm('openai').open(signal());
      try {
        const ac = new AbortController();
        let got = 0;
        await assert.rejects((async () => {
          for await (const e of s.chat({ leaseId: 'l3', messages: [{ role: 'user', content: 'tell me a long story' }], signal: ac.signal })) {
            if (e.type === 'text' && ++got === 2) ac.abort();
          }
        })());
        assert.equal(s.usable, true);
        const next = await collect(s.chat({ leaseId: 'l4', messages: [{ role: 'user', content: 'again' }] }));
        assert.equal(next.at(-1)?.type, 'done');
        await s.keepalive(); // a PING answered
      } finally { await s.close(); }
    });

    it('carries concurrent streams on one session up to its capacity', async () => {
      const s = await llm('openai').open(signal());
      try {
        assert.ok(s.capacity >= 2 && s.capacity <= 50);
        const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => collect(s.chat({ leaseId: `c${i}`, messages: [{ role: 'user', content: `call ${i}` }] }))));
        replies.forEach((r, i) => assert.match(r.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join(''), new RegExp(`call ${i}`)));
        assert.equal(up.llm.stats.handshakesCompleted >= 1, true);
      } finally { await s.close(); }
    });

    it('a rejected key fails open() with WL_ERR_UPSTREAM_AUTH (permanent)', async () => {
      for (const provider of ['openai', 'anthropic'] as const) {
        await assert.rejects(llm(provider, 'bad').open(signal()), (e: Error & { code?: string; permanent?: boolean }) => e.code === 'WL_ERR_UPSTREAM_AUTH' && e.permanent === true);
      }
    });
  });

  describe('CRM', () => {
    it('looks up callers, lists slots, books, and refuses a taken slot with a typed error', async () => {
      const crm = await createCrmFactory({ baseUrl: up.crm.url, apiKey: 'local-dev-key', ca: up.ca }).open(signal());
      try {
        const ada = await crm.lookupCaller('l', '+15551230001');
        assert.equal(ada?.name, 'Ada Lovelace');
        assert.equal(await crm.lookupCaller('l', '+19999999999'), null);
        const slots = await crm.availability('l', '2026-12-01');
        assert.equal(slots.length, 16);
        const booked = await crm.bookAppointment('l', { contactId: 'c_1', start: slots[0]! });
        assert.equal(booked.contactId, 'c_1');
        await assert.rejects(crm.bookAppointment('l', { contactId: 'c_1', start: slots[0]! }), (e: Error) => e instanceof SlotTakenError && /already booked/.test(e.message));
        assert.equal((await crm.availability('l', '2026-12-01')).length, 15);
      } finally { await crm.close(); }
    });

    it('a wrong key is an HTTP error naming the status', async () => {
      const crm = await createCrmFactory({ baseUrl: up.crm.url, apiKey: 'bad', ca: up.ca }).open(signal());
      try {
        await assert.rejects(crm.lookupCaller('l', '+15551230001'), (e: Error & { code?: string }) => e.code === 'WL_ERR_UPSTREAM_HTTP' && /HTTP 401/.test(e.message));
      } finally { await crm.close(); }
    });
  });

  describe('a provider that misbehaves', () => {
    it('a malformed frame destroys the connection with WL_ERR_UPSTREAM_PROTOCOL; a close mid-turn is WL_ERR_UPSTREAM_CLOSED', async () => {
      const cert = await makeCertificate();
      const https = createHttpsServer({ key: cert.key, cert: cert.cert });
      const wss = new WebSocketServer({ server: https });
      let mode: 'garbage' | 'close' = 'garbage';
      wss.on('connection', (ws) => ws.on('message', () => (mode === 'garbage' ? ws.send('{not json') : ws.close(1011, 'internal error'))));
      await new Promise<void>((r) => https.listen(0, '127.0.0.1', () => r()));
      const port = (https.address() as { port: number }).port;
      try {
        const open = () => createDeepgramFactory({ baseUrl: `wss://127.0.0.1:${port}`, apiKey: 'k', ca: cert.cert, model: 'm', language: 'en', endpointingMs: 300 }).open(signal());
        const a = await open();
        const causeA = new Promise<Error | undefined>((r) => a.once('close', r));
        a.sendAudio(Buffer.alloc(160, 0xff));
        const errA = await causeA;
        assert.equal((errA as { code?: string } | undefined)?.code, 'WL_ERR_UPSTREAM_PROTOCOL');
        assert.match(errA!.message, /\{not json/);
        mode = 'close';
        const b = await open();
        const causeB = new Promise<Error | undefined>((r) => b.once('close', r));
        b.sendAudio(Buffer.alloc(160, 0xff));
        const errB = await causeB;
        assert.equal((errB as { code?: string } | undefined)?.code, 'WL_ERR_UPSTREAM_CLOSED');
        assert.match(errB!.message, /code 1011, internal error/);
      } finally {
        wss.close();
        https.close();
      }
    });
  });
});
