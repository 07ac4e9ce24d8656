import assert from 'node:assert/strict';
import { startLocalUpstreams, type LocalUpstreams } from '../../../src/local/index.js';
import { createDeepgramFactory, type Transcript } from '../../../src/upstreams/index.js';
import { Synthesizer } from '../../../src/local/index.js';
import { until } from '../../support/wait.js';

describe('upstreams: Deepgram ASR against the local server', function () {
  this.timeout(20000);
  let up: LocalUpstreams;
  before(async () => { up = await startLocalUpstreams(); });
  after(async () => { await up.close(); });

  const opts = () => ({ baseUrl: up.asr.url, apiKey: 'local-dev-key', ca: up.ca, model: 'nova-2', language: 'en-US', endpointingMs: 300, finalizeTimeoutMs: 3000 });

  it('opens, keeps alive, resets via Finalize and closes', async () => {
    const conn = await createDeepgramFactory(opts()).open(new AbortController().signal);
    assert.equal(conn.capacity, 1);
    await conn.keepalive();
    assert.equal(await conn.reset(), true);
    await conn.close();
  });

  it('spoken audio yields a final transcript after Finalize', async () => {
    const speech = await new Synthesizer().synthesize('hello there, I would like an appointment');
    const conn = await createDeepgramFactory(opts()).open(new AbortController().signal);
    try {
      const finals: Transcript[] = [];
      conn.on('transcript', (t) => { if (t.isFinal) finals.push(t); });
      for (let i = 0; i < speech.length; i += 160) conn.sendAudio(speech.subarray(i, i + 160));
      conn.sendAudio(Buffer.alloc(8000, 0xff)); // 1 s of µ-law silence
      conn.finalize();
      await until(() => finals.some((t) => t.text.length > 0), 'a non-empty final transcript');
    } finally { await conn.close(); }
  });

  it('a rejected API key is WL_ERR_UPSTREAM_AUTH with permanent true', async () => {
    await assert.rejects(
      createDeepgramFactory({ ...opts(), apiKey: 'wrong' }).open(new AbortController().signal),
      (e: Error & { code?: string; permanent?: boolean }) => e.code === 'WL_ERR_UPSTREAM_AUTH' && e.permanent === true,
    );
  });

  it('caller audio goes out in 40 ms messages, a partial batch flushed by its timer, the stream time exact', async () => {
    const wire = up.asr.recordWire();
    const conn = await createDeepgramFactory(opts()).open(new AbortController().signal);
    try {
      for (let i = 0; i < 10; i++) conn.sendAudio(Buffer.alloc(160, 0xff)); // ten 20 ms frames
      conn.sendAudio(Buffer.alloc(160, 0xff)); // an eleventh: half a batch, nothing follows it
      assert.equal(conn.streamSeconds, 0.22);
      await until(() => binaryBytes(wire) === 1760, 'all 1,760 bytes on the wire');
      assert.deepEqual(wire.flatMap((r) => (r.kind === 'binary' ? [r.bytes] : [])), [320, 320, 320, 320, 320, 160]);
    } finally { await conn.close(); }
  });

  it('a socket whose Finalize gets no answer at all fails its next keepalive once the timeout passes (a stalled recognizer)', async () => {
    up.asr.chaos.stallNext(1);
    const conn = await createDeepgramFactory({ ...opts(), finalizeTimeoutMs: 300 }).open(new AbortController().signal);
    try {
      conn.sendAudio(Buffer.alloc(1600, 0xff));
      assert.equal(await conn.reset(), true, 'reset does not wait for the answer');
      await until(async () => {
        try { await conn.keepalive(); return false; } catch (err) { return (err as { code?: string }).code === 'WL_ERR_UPSTREAM_TIMEOUT'; }
      }, 'a keepalive refused for the unanswered Finalize');
    } finally { conn.destroy(); }
  });
});

/** What the server received: the ASR's own recording of binary frames. */
function binaryBytes(wire: Array<{ kind: string; bytes?: number }>): number {
  return wire.reduce((n, r) => n + (r.kind === 'binary' ? r.bytes ?? 0 : 0), 0);
}

describe('upstreams: an ASR socket back in the pool before its Finalize is answered', function () {
  this.timeout(30000);
  let up: LocalUpstreams;
  // Every final result (the Finalize answer too) leaves the server 1.5 s late, as a lagging recognizer's would.
  before(async () => { up = await startLocalUpstreams({ firstByteDelayMs: 1500 }); });
  after(async () => { await up.close(); });

  it("the previous lease's late results never reach the next lessee; the next lessee's do", async () => {
    const speech = await new Synthesizer().synthesize('hello there, I would like an appointment');
    const silence = Buffer.alloc(8000, 0xff);
    const conn = await createDeepgramFactory({ baseUrl: up.asr.url, apiKey: 'local-dev-key', ca: up.ca, model: 'nova-2', language: 'en-US', endpointingMs: 300 }).open(new AbortController().signal);
    try {
      const first: Transcript[] = [];
      conn.on('transcript', (t) => first.push(t));
      conn.on('speech-started', () => first.push({ text: 'speech-started', isFinal: false, speechFinal: false, fromFinalize: false, confidence: 0, start: 0, duration: 0 }));
      for (let i = 0; i < speech.length; i += 160) conn.sendAudio(speech.subarray(i, i + 160));
      // Released mid-utterance: the recognizer owes this lease a final, and it will come late.
      const boundary = conn.streamSeconds;
      assert.equal(await conn.reset(), true);
      const firstAtRelease = first.length;

      const second: Transcript[] = [];
      conn.on('transcript', (t) => second.push(t));
      conn.sendAudio(silence);
      for (let i = 0; i < speech.length; i += 160) conn.sendAudio(speech.subarray(i, i + 160));
      conn.sendAudio(silence);
      conn.finalize();
      await until(() => second.some((t) => t.isFinal && t.text.length > 0), "the second lease's own final");
      await until(() => conn.staleResultsDropped > 0, "the first lease's late final, dropped");
      assert.equal(first.length, firstAtRelease, 'nothing reaches a lessee after its release');
      for (const t of second) assert.ok(t.start >= boundary, `a result about audio before the lease began reached it: ${JSON.stringify(t)}`);
    } finally { await conn.close(); }
  });
});
