import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startLocalUpstreams, type LocalUpstreams, type WireRecord } from '../../../src/local/index.js';
import { createDeepgramFactory, createElevenLabsFactory, createLlmFactory, type DeepgramConnection } from '../../../src/upstreams/index.js';
import { ExclusivePool, MultiplexedPool } from '../../../src/pools/index.js';
import { until } from '../../support/wait.js';
import { TcpProxy } from './tcp-proxy.js';

/**
 * The providers' published limits, enforced by the local servers, and the
 * connectors living within them: ElevenLabs' 5 contexts per socket and its
 * inactivity timeout, Deepgram's stream cap, HTTP/2 MAX_CONCURRENT_STREAMS,
 * and a half-open ASR socket found out by ping before a call gets it.
 */
const signal = () => new AbortController().signal;

describe('providers: published limits and the connectors within them', function () {
  this.timeout(30000);
  let up: LocalUpstreams;
  before(async () => { up = await startLocalUpstreams({ asrMaxStreams: 2, h2MaxConcurrentStreams: 3 }); });
  // Synthesis is slow on a loaded machine the first time (the WASM compiles): not what these tests measure.
  before(async () => { await Promise.all(['Hello.', 'Again.', 'Hi.'].map((t) => up.synthesizer.synthesize(t))); });
  after(async () => { await up.close(); });

  const tts = (extra: object = {}) => createElevenLabsFactory({ baseUrl: up.tts.url, apiKey: 'local-dev-key', ca: up.ca, voiceId: 'v1', modelId: 'm1', multiContext: true, ...extra });

  it('ElevenLabs: a sixth open context closes the socket with 1008 max_active_conversations', async () => {
    const ws = new WebSocket(`${up.tts.url}/v1/text-to-speech/v1/multi-stream-input?output_format=ulaw_8000`, { headers: { 'xi-api-key': 'local-dev-key' }, ca: up.ca });
    await new Promise((r, j) => { ws.once('open', r); ws.once('error', j); });
    const closed = new Promise<[number, string]>((r) => ws.once('close', (c, why) => r([c, why.toString()])));
    for (let i = 1; i <= 5; i++) ws.send(JSON.stringify({ text: ' ', context_id: `c${i}` }));
    // Closing one makes room: five open again is still within the limit.
    ws.send(JSON.stringify({ context_id: 'c1', close_context: true }));
    ws.send(JSON.stringify({ text: ' ', context_id: 'c6' }));
    ws.send(JSON.stringify({ text: '', context_id: 'c2' }));
    ws.send(JSON.stringify({ text: ' ', context_id: 'c7' }));
    const [code, reason] = await closed;
    assert.equal(code, 1008);
    assert.match(reason, /max_active_conversations/);
  });

  it('ElevenLabs keepalive on a socket with 5 contexts in use opens none: the socket survives and every context still speaks', async () => {
    const wire = up.tts.recordWire();
    const conn = await tts().open(signal());
    try {
      const ctxs = [1, 2, 3, 4, 5].map((i) => conn.context(`lease-${i}`));
      for (const c of ctxs) c.speak('Hello.');
      for (let i = 0; i < 3; i++) await conn.keepalive();
      const done = new Set<string>();
      for (const c of ctxs) {
        c.on('done', () => done.add(c.id));
        c.flush();
      }
      await until(() => done.size === 5, 'all five contexts finish', 20_000);
      assert.equal(conn.usable, true);
      // Every keepalive named a lessee's open context with empty text (KeepContextAlive).
      const sent = wire.flatMap((r: WireRecord) => (r.kind === 'text' ? [JSON.parse(r.data) as { text?: string; context_id?: string }] : []));
      const ids = new Set(sent.map((m) => m.context_id));
      assert.deepEqual([...ids].sort(), ctxs.map((c) => c.id).sort(), 'no context beyond the five lessees was ever named');
      assert.equal(sent.filter((m) => m.text === '').length, 3);
      // Idle again: the keepalive's own context opens and closes in one go, so five new lessees still fit.
      for (const c of ctxs) await conn.reset(c.id);
      await conn.keepalive();
      const again = [6, 7, 8, 9, 10].map((i) => conn.context(`lease-${i}`));
      const done2 = new Set<string>();
      for (const c of again) {
        c.on('done', () => done2.add(c.id));
        c.speak('Again.');
        c.flush();
      }
      await until(() => done2.size === 5, 'five new contexts after an idle keepalive', 20_000);
      assert.equal(conn.usable, true);
    } finally { await conn.close(); }
  });

  it('ElevenLabs keepalive through a pool holds a multi-context socket past its inactivity timeout while 5 leases are out', async () => {
    const before = up.tts.stats.connectionsAccepted;
    const pool = new MultiplexedPool({ name: 'tts', factory: tts({ inactivityTimeoutS: 1 }), min: 1, max: 1, keepaliveMs: 300 });
    pool.start();
    try {
      await pool.whenReady();
      const leases = await Promise.all([1, 2, 3, 4, 5].map(() => pool.acquire()));
      for (const l of leases) l.conn.context(l.id).speak('Hi.');
      await new Promise((r) => setTimeout(r, 2500)); // the span under test: 2.5 inactivity windows
      assert.equal(pool.stats().replacements, 0);
      assert.equal(pool.stats().keepaliveFailures, 0);
      assert.equal(up.tts.stats.connectionsAccepted - before, 1, 'one socket the whole time');
      for (const l of leases) assert.equal(l.active, true);
      for (const l of leases) l.release();
    } finally { await pool.close(); }
  });

  it('Deepgram: streams past the cap get 429 on the upgrade, a typed connect error; a freed stream makes room', async () => {
    const f = createDeepgramFactory({ baseUrl: up.asr.url, apiKey: 'local-dev-key', ca: up.ca, model: 'nova-2', language: 'en-US', endpointingMs: 300 });
    const a = await f.open(signal());
    const b = await f.open(signal());
    await assert.rejects(f.open(signal()), (e: Error & { code?: string }) => e.code === 'WL_ERR_UPSTREAM_CONNECT' && /429/.test(e.message));
    await a.close();
    // The server counts the stream gone once its side of the close is done, a moment after ours.
    let c: Awaited<ReturnType<typeof f.open>> | undefined;
    await until(async () => { c = await f.open(signal()).catch(() => undefined); return c !== undefined; }, 'a stream opens once one is freed');
    await b.close();
    await c!.close();
  });

  it('HTTP/2: the LLM session takes its capacity from the server\'s MAX_CONCURRENT_STREAMS, and a pool opens more sessions past it', async () => {
    const f = createLlmFactory({ provider: 'openai', baseUrl: up.llm.url, apiKey: 'local-dev-key', ca: up.ca, model: 'm', streamsPerSession: 50 });
    const pool = new MultiplexedPool({ name: 'llm', factory: f, min: 1, max: 3 });
    pool.start();
    try {
      await pool.whenReady();
      assert.equal(pool.stats().capacity, 3);
      const leases = await Promise.all(Array.from({ length: 5 }, () => pool.acquire()));
      assert.equal(new Set(leases.map((l) => l.conn.id)).size, 2);
      for (const l of leases) l.release();
    } finally { await pool.close(); }
  });

  it('Deepgram: a half-open socket (the flow goes silent, no FIN) fails its ping and is replaced before a call gets it', async () => {
    const port = Number(new URL(up.asr.url).port);
    const proxy = new TcpProxy('127.0.0.1', port);
    await proxy.listen();
    // The certificate names 127.0.0.1, so the proxy on another port of it passes TLS verification.
    const f = createDeepgramFactory({ baseUrl: `wss://127.0.0.1:${proxy.port}`, apiKey: 'local-dev-key', ca: up.ca, model: 'nova-2', language: 'en-US', endpointingMs: 300, pongTimeoutMs: 400 });
    const pool = new ExclusivePool<DeepgramConnection>({ name: 'asr', factory: f, min: 1, max: 1, keepaliveMs: 200, keepaliveTimeoutMs: 1000 });
    const failures: Error[] = [];
    pool.on('keepalive-failed', (e) => failures.push(e));
    pool.start();
    try {
      await pool.whenReady();
      const first = await pool.acquire();
      const deadId = first.conn.id;
      first.release();
      // The release's Finalize round trip must finish first: a reset that hears nothing destroys the socket on its own.
      await until(() => pool.stats().idle === 1, 'the released socket is idle again');
      assert.equal(pool.stats().replacements, 0);
      assert.equal(proxy.blackhole(), 1);
      await until(() => failures.length > 0 && pool.stats().size === 1 && pool.stats().idle === 1, 'the silent socket fails its ping and a new one is warm');
      assert.match(failures[0]!.message, /pong/);
      const lease = await pool.acquire();
      assert.notEqual(lease.conn.id, deadId);
      assert.equal(lease.waited, false, 'the replacement was warm before the acquire');
      // The new socket answers: a Finalize comes back.
      assert.equal(await lease.conn.reset(), true);
      lease.release();
      assert.ok(pool.stats().keepaliveFailures >= 1);
      assert.equal(proxy.accepted, 2);
    } finally {
      await pool.close();
      await proxy.close();
    }
  });
});
