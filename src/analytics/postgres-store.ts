import pg from 'pg';
import type { AnalyticsStore, SqlValue } from './store-contract.js';
import { redactUrl } from './store-contract.js';
import { MIGRATIONS, TABLE_NAMES, TIME_COLUMN, columns, type AnyRow, type TableName } from './tables.js';
import { AnalyticsStoreError } from './errors.js';

const INT8 = 20;
const NUMERIC = 1700;
// Counters and epoch milliseconds fit a double exactly; strings would leak into every caller.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 || oid === NUMERIC ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** An arbitrary constant: replicas starting together migrate one at a time. */
const MIGRATION_LOCK = 0x5741524d;

/**
 * PostgreSQL, so every replica writes to one place. Bounded in every way a
 * slow or absent server could hold us: two connections, a connect timeout and
 * a statement timeout; a failure is a failed batch that the writer retries.
 */
export class PostgresStore implements AnalyticsStore {
  readonly kind = 'postgres' as const;
  readonly where: string;
  readonly #pool: pg.Pool;
  readonly #schema: string;

  constructor(url: string, schema: string) {
    this.where = redactUrl(url) + (schema ? ` (schema ${schema})` : '');
    this.#schema = schema;
    this.#pool = new pg.Pool({
      connectionString: url,
      max: 2,
      connectionTimeoutMillis: 2000,
      query_timeout: 10_000,
      idleTimeoutMillis: 10_000,
      types,
      ...(schema && { options: `-c search_path=${schema}` }),
    });
    // An idle client whose server went away emits 'error' on the pool; unhandled it would end the process.
    this.#pool.on('error', () => undefined);
  }

  async #tx<T>(operation: string, body: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient | undefined;
    try {
      client = await this.#pool.connect();
      await client.query('BEGIN');
      const out = await body(client);
      await client.query('COMMIT');
      client.release();
      return out;
    } catch (err) {
      // A client that failed mid-transaction is not trusted again.
      client?.release(err instanceof Error ? err : true);
      throw new AnalyticsStoreError({ store: this.where, operation }, { cause: err });
    }
  }

  async migrate(): Promise<void> {
    if (this.#schema) {
      try {
        await this.#pool.query(`CREATE SCHEMA IF NOT EXISTS ${this.#schema}`);
      } catch (err) {
        // Two replicas creating the schema at once: one of them sees a duplicate; the schema is there.
        if ((err as { code?: string }).code !== '23505') throw new AnalyticsStoreError({ store: this.where, operation: 'create schema' }, { cause: err });
      }
    }
    await this.#tx('migrate', async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query('CREATE TABLE IF NOT EXISTS analytics_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at BIGINT)');
      const done = new Set((await c.query<{ version: number }>('SELECT version FROM analytics_migrations')).rows.map((r) => r.version));
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        for (const sql of m.sql) await c.query(sql);
        await c.query('INSERT INTO analytics_migrations (version, name, applied_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [m.version, m.name, Date.now()]);
      }
    });
  }

  async write(rows: readonly AnyRow[]): Promise<void> {
    const byTable = new Map<TableName, AnyRow[]>();
    for (const r of rows) {
      const list = byTable.get(r.table);
      if (list) list.push(r);
      else byTable.set(r.table, [r]);
    }
    await this.#tx('write', async (c) => {
      for (const [table, list] of byTable) {
        const cols = columns(table);
        const values: SqlValue[] = [];
        const tuples = list.map((r) => `(${cols.map((col) => { values.push(r.row[col] ?? null); return `$${values.length}`; }).join(', ')})`);
        await c.query(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${tuples.join(', ')} ON CONFLICT (id) DO NOTHING`, values);
      }
    });
  }

  async purge(before: number): Promise<number> {
    return this.#tx('purge', async (c) => {
      let n = 0;
      for (const t of TABLE_NAMES) n += (await c.query(`DELETE FROM ${t} WHERE ${TIME_COLUMN[t]} < $1`, [before])).rowCount ?? 0;
      return n;
    });
  }

  async query<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    let i = 0;
    const text = sql.replace(/\?/g, () => `$${++i}`);
    try {
      return (await this.#pool.query<T & pg.QueryResultRow>(text, [...params])).rows;
    } catch (err) {
      throw new AnalyticsStoreError({ store: this.where, operation: 'query' }, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => undefined);
  }
}
