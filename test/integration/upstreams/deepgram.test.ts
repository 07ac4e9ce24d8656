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
});
