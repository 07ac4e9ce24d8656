/**
 * `npx tsx bench/support/calls-asr-lag.ts`: 20 short calls, one after another, on a pool of two
 * ASR sockets, against the local recognizer with every final result (the Finalize answer too)
 * 2.5 s late, longer than the connector's 2 s Finalize timeout. Prints how long acquisitions
 * waited and how many sockets the pool opened and replaced: what a release that waits for the
 * Finalize answer costs when the recognizer lags (bench:calls on a loaded machine).
 */
import { startLocalUpstreams } from '../../src/local/index.js';
import { ExclusivePool } from '../../src/pools/index.js';
import { createDeepgramFactory } from '../../src/upstreams/index.js';

async function main(): Promise<void> {
  const up = await startLocalUpstreams({ firstByteDelayMs: 2500 });
  const factory = createDeepgramFactory({ baseUrl: up.asr.url, apiKey: 'local-dev-key', ca: up.ca, model: 'm', language: 'en', endpointingMs: 300 });
  const pool = new ExclusivePool({ name: 'asr', min: 2, max: 4, acquireTimeoutMs: 10_000, factory });
  pool.start();
  const calls = 20;
  const t0 = performance.now();
  let waited = 0;
  for (let i = 0; i < calls; i++) {
    const a = performance.now();
    const lease = await pool.acquire();
    waited += performance.now() - a;
    // 0.6 s of caller audio in 20 ms frames, loud and quiet in turn (the recognizer hears speech).
    for (let k = 0; k < 30; k++) lease.conn.sendAudio(Buffer.alloc(160, k % 2 ? 0x10 : 0x90));
    lease.release();
  }
  const s = pool.stats();
  process.stdout.write(`${JSON.stringify({ calls, wall_ms: Math.round(performance.now() - t0), acquire_wait_ms_total: Math.round(waited), opens: s.opens, replacements: s.replacements })}\n`);
  await pool.close();
  await up.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`calls-asr-lag: ${String(err)}\n`);
  process.exitCode = 1;
});
