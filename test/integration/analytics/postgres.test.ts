import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore, TABLE_NAMES, type AnalyticsStore } from '../../../src/analytics/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway } from '../../support/gateway.js';
import { until } from '../../support/wait.js';
import { count, placeCalls } from './helpers.js';
import { PrivatePostgres } from './private-postgres.js';

const MACHINE_PG = 'postgres://postgres@127.0.0.1:5432/postgres';
const schemaName = () => `wl_test_${randomBytes(5).toString('hex')}`;

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: MACHINE_PG });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

async function metric(g: Gateway, name: string): Promise<number> {
  const text = await (await fetch(`${g.opsUrl}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
}

/** The same rows in PostgreSQL: the machine's server (a schema per test), and a private one stopped under calls. */
describe('analytics: PostgreSQL store', function () {
  this.timeout(180_000);

  it('two replicas migrating an empty schema at once end with every table, migrated once', async () => {
    const schema = schemaName();
    const a = await openStore({ url: MACHINE_PG, dataDir: '', schema });
    const b = await openStore({ url: MACHINE_PG, dataDir: '', schema });
    try {
      await Promise.all([a.migrate(), b.migrate()]);
      const tables = (await a.query<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name', [schema])).map((r) => r.table_name);
      assert.deepEqual(tables, ['analytics_migrations', ...TABLE_NAMES].sort());
      assert.deepEqual(await a.query('SELECT version, name FROM analytics_migrations ORDER BY version'), [{ version: 1, name: 'tables' }, { version: 2, name: 'tenants' }, { version: 3, name: 'regions' }]);
    } finally {
      await a.close();
      await b.close();
      await dropSchema(schema);
    }
  });

  describe('a gateway writing to the machine PostgreSQL', () => {
    const schema = schemaName();
    let g: Gateway;
    let reader: AnalyticsStore;
    before(async () => {
      g = await startTestGateway({ analytics: { url: MACHINE_PG, schema, flushMs: 100, snapshotMs: 1000 } });
      reader = await openStore({ url: MACHINE_PG, dataDir: '', schema });
      await reader.migrate(); // the gateway migrates in the background; idempotent
    });
    after(async () => {
      await g?.close();
      await reader?.close();
      await dropSchema(schema);
    });

    it('a sipp call leaves its call row, turn rows and pool snapshots', async () => {
      await placeCalls(g.sip, 1);
      await until(async () => (await count(reader, 'calls')) === 1, 'the call row', 20_000);
      const [call] = await reader.query<Record<string, unknown>>('SELECT * FROM calls');
      assert.equal(call!.end_reason, 'bye');
      assert.equal(typeof call!.started_at, 'number', 'BIGINT read back as a number');
      const turns = await reader.query<{ turn: number; done_ms: number | null }>('SELECT turn, done_ms FROM turns WHERE call_id = ? ORDER BY turn', [String(call!.id)]);
      assert.equal(turns.length, Number(call!.turns));
      assert.ok(turns.length >= 1 && turns.every((t) => typeof t.done_ms === 'number'), JSON.stringify(turns));
      await until(async () => (await count(reader, 'pool_snapshots')) >= 4, 'pool snapshots');
    });
  });

  describe('PostgreSQL stopped and restarted under calls (a private server)', () => {
    let server: PrivatePostgres;
    let g: Gateway;
    let reader: AnalyticsStore;
    before(async () => {
      server = await PrivatePostgres.create();
      g = await startTestGateway({ analytics: { url: server.url, flushMs: 100, snapshotMs: 1000 } });
      reader = await openStore({ url: server.url, dataDir: '', schema: '' });
      await reader.migrate(); // the gateway migrates in the background; idempotent
    });
    after(async () => {
      await g?.close();
      await reader?.close();
      await server?.destroy();
    });

    it('calls go on while it is down, their rows wait in the queue and arrive once it is back; none dropped', async () => {
      await placeCalls(g.sip, 1, 1000);
      await until(async () => (await count(reader, 'calls')) === 1, 'the first call row', 20_000);
      await server.stop();
      await until(async () => (await metric(g, 'warmline_analytics_store_up')) === 0, 'the writer sees the store down', 20_000);
      await placeCalls(g.sip, 3, 1000);
      assert.ok(g.calls.view().recent.slice(0, 3).every((c) => c.endReason === 'bye' && c.turns.length >= 1), 'the calls ran as usual');
      const queued = await metric(g, 'warmline_analytics_rows_queued');
      assert.ok(queued >= 3, `rows wait while the store is down (${queued})`);
      await server.start();
      await until(async () => (await count(reader, 'calls').catch(() => 0)) === 4, 'the rows written after the restart', 60_000);
      await until(async () => (await metric(g, 'warmline_analytics_rows_queued')) < queued, 'the queue drains');
      assert.equal(await metric(g, 'warmline_analytics_rows_dropped_total'), 0);
      assert.equal(await metric(g, 'warmline_analytics_store_up'), 1);
      const [turns] = await reader.query<{ n: number }>('SELECT COUNT(*) AS n FROM turns');
      const [sum] = await reader.query<{ n: number }>('SELECT SUM(turns) AS n FROM calls');
      assert.equal(Number(turns!.n), Number(sum!.n), 'every turn row of every call');
    });
  });
});
