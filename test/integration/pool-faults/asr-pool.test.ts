import assert from 'node:assert/strict';
import { startLocalUpstreams, type LocalUpstreams } from '../../../src/local/index.js';
import { createDeepgramFactory } from '../../../src/upstreams/index.js';
import { ExclusivePool } from '../../../src/pools/index.js';
import { until } from '../../support/wait.js';


describe('pool faults: ASR pool over the Deepgram connector and the local server', function () {
  this.timeout(20000);
  let up: LocalUpstreams;
  before(async () => { up = await startLocalUpstreams({ asrIdleTimeoutMs: 600 }); });
  after(async () => { await up.close(); });

  const factory = () => createDeepgramFactory({ baseUrl: up.asr.url, apiKey: 'local-dev-key', ca: up.ca, model: 'nova-2', language: 'en-US', endpointingMs: 300 });

  it('(2) keepalive keeps idle sockets open past the provider idle timeout', async () => {
    const before = up.asr.stats.connectionsAccepted;
    const pool = new ExclusivePool({ name: 'asr', factory: factory(), min: 1, max: 1, keepaliveMs: 200 });
    pool.start();
    try {
      await pool.whenReady();
      // A socket without keepalive, opened after the pooled one, is closed by the provider's idle
      // timeout: once it is gone, the pooled socket has been idle longer than that timeout.
      const control = await factory().open(new AbortController().signal);
      let controlClosed = false;
      control.once('close', () => { controlClosed = true; });
      await until(() => controlClosed, 'the provider to close an idle socket without keepalive');
      assert.equal(up.asr.stats.connectionsAccepted - before, 2, 'the pooled socket was never replaced (the other is the control)');
      const lease = await pool.acquire();
      assert.equal(lease.waited, false);
      lease.release();
    } finally { await pool.close(); }
  });

  it('(5) exhaustion: bounded wait, counted, typed error', async () => {
    const pool = new ExclusivePool({ name: 'asr', factory: factory(), min: 1, max: 1, acquireTimeoutMs: 300 });
    pool.start();
    try {
      await pool.whenReady();
      const held = await pool.acquire();
      await assert.rejects(pool.acquire(), (e: Error & { code?: string }) => typeof e.code === 'string' && e.code.startsWith('WL_ERR_'));
      assert.equal(pool.stats().exhausted, 1);
      held.release();
    } finally { await pool.close(); }
  });

  it('(6) a socket dies while leased: the lessee hears lost and the pool replaces it', async () => {
    const pool = new ExclusivePool({ name: 'asr', factory: factory(), min: 1, max: 1 });
    pool.start();
    try {
      await pool.whenReady();
      const lease = await pool.acquire();
      const lost = new Promise<Error>((r) => lease.once('lost', r));
      up.asr.dropConnections();
      const cause = await lost;
      assert.ok(cause instanceof Error);
      const next = await pool.acquire();
      assert.notEqual(next.conn.id, lease.conn.id);
      next.release();
    } finally { await pool.close(); }
  });

  it('(4) a rejected API key: permanent typed error and no hot loop', async () => {
    const before = up.asr.stats.connectionsAccepted;
    const bad = createDeepgramFactory({ baseUrl: up.asr.url, apiKey: 'wrong', ca: up.ca, model: 'nova-2', language: 'en-US', endpointingMs: 300 });
    const pool = new ExclusivePool({ name: 'asr', factory: bad, min: 1, max: 1, acquireTimeoutMs: 300, backoff: { initialMs: 50 } });
    pool.start();
    try {
      // A rejected key is permanent: the pool says so and falls back to its longest interval.
      await until(() => pool.stats().state === 'failed', 'the pool to give up on the rejected key');
      assert.equal(pool.ready, false);
      const attempts = up.asr.stats.connectionsAccepted - before;
      assert.ok(attempts >= 1 && attempts <= 3, `attempts before giving up: ${attempts}`);
      await assert.rejects(pool.acquire(), (e: Error & { code?: string }) => typeof e.code === 'string');
    } finally { await pool.close(); }
  });

  it('(1) a provider closing an idle socket: replaced before the next acquire', async () => {
    const pool = new ExclusivePool({ name: 'asr', factory: factory(), min: 1, max: 1 });
    pool.start();
    try {
      await pool.whenReady();
      const first = (await pool.acquire()); const firstId = first.conn.id; first.release();
      await until(() => pool.stats().closes >= 1, 'the provider to close the idle socket (600 ms idle timeout)');
      const lease = await pool.acquire();
      assert.notEqual(lease.conn.id, firstId);
      assert.equal(await lease.conn.reset(), true, 'the acquired socket works');
      lease.release();
    } finally { await pool.close(); }
  });

  it('(3) provider down at boot: not ready, bounded retries with backoff, ready after resume', async () => {
    await up.asr.pause();
    const pool = new ExclusivePool({ name: 'asr', factory: factory(), min: 1, max: 1, backoff: { initialMs: 50, maxMs: 400 } });
    pool.start();
    try {
      await until(() => pool.stats().openFailures >= 2, 'two failed opens');
      assert.equal(pool.ready, false);
      await up.asr.resume();
      await pool.whenReady();
      assert.equal(pool.ready, true);
    } finally { await up.asr.resume().catch(() => undefined); await pool.close(); }
  });
});
