import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, RowWriter, TABLE_NAMES, type AnalyticsStore } from '../../../src/analytics/index.js';
import { createLogger } from '../../../src/log.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway } from '../../support/gateway.js';
import { startReplica } from '../../support/replica.js';
import { until } from '../../support/wait.js';
import { count, placeCalls } from './helpers.js';

/**
 * The embedded store: SQLite in a file (better-sqlite3 12.x), read back from a
 * second connection on the same file, as `npm run report` reads it.
 */
describe('analytics: SQLite store', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'wl-analytics-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates an empty file to every table, once (a second migrate changes nothing)', async () => {
    const store = await openStore({ url: '', dataDir: join(dir, 'empty'), schema: '' });
    try {
      await store.migrate();
      await store.migrate();
      const tables = (await store.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")).map((r) => r.name);
      assert.deepEqual(tables, ['analytics_migrations', ...TABLE_NAMES].sort());
      assert.deepEqual(await store.query('SELECT version, name FROM analytics_migrations ORDER BY version'), [{ version: 1, name: 'tables' }, { version: 2, name: 'tenants' }, { version: 3, name: 'regions' }]);
      await store.write([{ table: 'pool_events', row: { id: 'e1', at: 1, replica: 'r', pool: 'asr', upstream: 'asr', pool_key: 'k', kind: 'exhausted', reason: 'x' } }]);
      // The same row twice (a batch retried after a lost answer) is stored once.
      await store.write([{ table: 'pool_events', row: { id: 'e1', at: 1, replica: 'r', pool: 'asr', upstream: 'asr', pool_key: 'k', kind: 'exhausted', reason: 'x' } }]);
      assert.equal(await count(store, 'pool_events'), 1);
      assert.equal(await store.purge(2), 1, 'retention deletes rows older than the cut');
    } finally {
      await store.close();
    }
  });

  it('stores opened on one file at once migrate it together: each version applied once, neither fails', async () => {
    // A gateway and a reader (or two processes) started together: each store's worker thread holds
    // its own connection, so their migrations really race for SQLite's write lock. A race: several
    // fresh files, so that the unlocked check this replaced fails here nearly every run.
    for (let round = 0; round < 5; round++) {
      const stores = await Promise.all([1, 2, 3, 4, 5, 6].map(() => openStore({ url: '', dataDir: join(dir, `together-${round}`), schema: '' })));
      try {
        const results = await Promise.allSettled(stores.map((st) => st.migrate()));
        assert.deepEqual(results.map((r) => r.status), stores.map(() => 'fulfilled'), JSON.stringify(results.map((r) => r.status === 'rejected' ? String(r.reason?.cause ?? r.reason) : 'ok')));
        assert.deepEqual(await stores[0]!.query('SELECT version FROM analytics_migrations ORDER BY version'), [{ version: 1 }, { version: 2 }, { version: 3 }]);
      } finally {
        await Promise.all(stores.map((st) => st.close()));
      }
    }
  });

  it('the queue is bounded: rows beyond queueMax are dropped and counted, the rest written on flush', async () => {
    const store = await openStore({ url: `sqlite:${join(dir, 'bounded.sqlite')}`, dataDir: dir, schema: '' });
    try {
      await store.migrate();
      const writer = new RowWriter(store, { queueMax: 5, batchMax: 2, flushMs: 3_600_000, log: createLogger('silent') });
      for (let i = 0; i < 8; i++) writer.push({ table: 'pool_events', row: { id: `e${i}`, at: i, replica: 'r', pool: 'asr', upstream: 'asr', pool_key: 'k', kind: 'exhausted', reason: 'x' } });
      assert.deepEqual(writer.stats(), { queued: 5, dropped: 3, written: 0, failures: 0, storeUp: true });
      assert.equal(await writer.flush(), true);
      assert.deepEqual(writer.stats(), { queued: 0, dropped: 3, written: 5, failures: 0, storeUp: true });
      assert.deepEqual((await store.query<{ id: string }>('SELECT id FROM pool_events ORDER BY id')).map((r) => r.id), ['e0', 'e1', 'e2', 'e3', 'e4']);
    } finally {
      await store.close();
    }
  });

  describe('through a gateway', () => {
    let g: Gateway;
    let reader: AnalyticsStore;
    const file = () => join(dir, 'gw', 'analytics.sqlite');
    before(async () => {
      g = await startTestGateway({ analytics: { url: `sqlite:${file()}`, flushMs: 100, snapshotMs: 1000 } });
      reader = await openStore({ url: `sqlite:${file()}`, dataDir: dir, schema: '' });
      // The gateway migrates in the background: the reader makes sure the tables exist (idempotent).
      await reader.migrate();
    });
    after(async () => {
      await g?.close();
      await reader?.close();
    });

    it('a sipp call leaves its call row, its turn rows with their marks and acquire times, and pool snapshots of every pool', async () => {
      await placeCalls(g.sip, 1, 6000);
      await until(async () => (await count(reader, 'calls')) === 1, 'the call row', 20_000);
      const [call] = await reader.query<Record<string, unknown>>('SELECT * FROM calls');
      assert.equal(call!.did, '15550001000');
      assert.equal(call!.agent, 'receptionist');
      assert.equal(call!.codec, 'PCMA');
      assert.equal(call!.transport, 'sip/udp');
      assert.equal(call!.end_reason, 'bye');
      assert.ok(Number(call!.answered_at) >= Number(call!.started_at) && Number(call!.ended_at) > Number(call!.answered_at), JSON.stringify(call));
      assert.ok(Number(call!.rtp_received) > 50 && call!.rtp_sent !== null, JSON.stringify(call));
      const turns = await reader.query<Record<string, number | string | null>>('SELECT * FROM turns WHERE call_id = ? ORDER BY turn', [String(call!.id)]);
      assert.equal(turns.length, Number(call!.turns));
      assert.ok(turns.length >= 1, 'at least the greeting and the DTMF turn');
      for (const t of turns) {
        assert.equal(t.connections_opened, 0, 'warm: nothing opened inside a turn');
        assert.equal(typeof t.acquire_tts_ms, 'number', JSON.stringify(t));
      }
      assert.ok(turns.every((t) => typeof t.done_ms === 'number' && t.outcome !== 'open'), JSON.stringify(turns));
      assert.ok(turns.some((t) => typeof t.asr_final_ms === 'number' && typeof t.llm_first_token_ms === 'number'), `the DTMF turn reached the LLM: ${JSON.stringify(turns)}`);
      await until(async () => (await count(reader, 'pool_snapshots', "WHERE pool = 'asr'")) >= 2, 'pool snapshots');
      const pools = (await reader.query<{ pool: string }>('SELECT DISTINCT pool FROM pool_snapshots ORDER BY pool')).map((r) => r.pool);
      assert.deepEqual(pools, ['asr', 'crm', 'llm', 'tts']);
      const metrics = await (await fetch(`${g.opsUrl}/metrics`)).text();
      assert.match(metrics, /warmline_analytics_rows_dropped_total 0/);
      assert.match(metrics, /warmline_analytics_store_up 1/);
    });
  });

  it('SIGTERM with a full queue: every queued row is written before the process exits', async () => {
    const db = join(dir, 'sigterm', 'analytics.sqlite');
    const cfg = join(dir, 'sigterm.yaml');
    // The writer's timer never fires during the test: every row waits in the queue until SIGTERM.
    writeFileSync(cfg, `analytics:\n  url: "sqlite:${db}"\n  flushMs: 3600000\n  snapshotMs: 1000\n`);
    const r = await startReplica({}, ['--config', cfg]);
    const reader = await openStore({ url: `sqlite:${db}`, dataDir: dir, schema: '' });
    await reader.migrate(); // the replica migrates in the background; idempotent
    try {
      await placeCalls(r.sip, 4, 1000);
      await until(async () => /warmline_calls_active 0/.test(await (await fetch(`${r.url}/metrics`)).text()), 'calls ended');
      const metrics = await (await fetch(`${r.url}/metrics`)).text();
      const queued = Number(/warmline_analytics_rows_queued (\d+)/.exec(metrics)?.[1]);
      assert.ok(queued >= 4 + 4, `call and turn rows queued (${queued})`);
      assert.equal(await count(reader, 'calls'), 0, 'nothing written before SIGTERM');
      r.child.kill('SIGTERM');
      assert.equal(await r.exit, 0, r.stderr().slice(-2000));
      assert.equal(await count(reader, 'calls'), 4, 'every call row');
      const turns = await count(reader, 'turns');
      const [sum] = await reader.query<{ n: number }>('SELECT SUM(turns) AS n FROM calls');
      assert.equal(turns, Number(sum!.n), 'every turn row of every call');
      assert.ok((await count(reader, 'pool_snapshots')) >= 4, 'the snapshots too');
    } finally {
      r.kill();
      await reader.close();
    }
  });
});
