import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { AnalyticsStore, SqlValue } from './store.js';
import { MIGRATIONS, TABLE_NAMES, TIME_COLUMN, columns, type AnyRow, type TableName } from './tables.js';
import { AnalyticsStoreError } from './errors.js';

/**
 * SQLite in one file (better-sqlite3 12.x). Its calls are synchronous: the
 * writer runs them from a timer, off any call's path, a batch at a time, and a
 * batch of a few hundred short rows costs well under a millisecond. WAL lets
 * `npm run report` read while the gateway writes; a short busy timeout makes a
 * locked file a failed batch (retried later) instead of a stalled event loop.
 */
export class SqliteStore implements AnalyticsStore {
  readonly kind = 'sqlite' as const;
  readonly where: string;
  readonly #db: Database.Database;
  readonly #inserts = new Map<TableName, Database.Statement>();

  constructor(file: string) {
    this.where = file;
    try {
      mkdirSync(dirname(file), { recursive: true });
      this.#db = new Database(file);
      this.#db.pragma('journal_mode = WAL');
      this.#db.pragma('synchronous = NORMAL');
      this.#db.pragma('busy_timeout = 50');
    } catch (err) {
      throw new AnalyticsStoreError({ store: file, operation: 'open' }, { cause: err });
    }
  }

  async migrate(): Promise<void> {
    const db = this.#db;
    try {
      db.exec('CREATE TABLE IF NOT EXISTS analytics_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at BIGINT)');
      const done = new Set(db.prepare('SELECT version FROM analytics_migrations').all().map((r) => (r as { version: number }).version));
      for (const m of MIGRATIONS) {
        if (done.has(m.version)) continue;
        db.transaction(() => {
          for (const sql of m.sql) db.exec(sql);
          db.prepare('INSERT OR IGNORE INTO analytics_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
        }).immediate();
      }
    } catch (err) {
      throw new AnalyticsStoreError({ store: this.where, operation: 'migrate' }, { cause: err });
    }
    for (const t of TABLE_NAMES) {
      const cols = columns(t);
      this.#inserts.set(t, db.prepare(`INSERT INTO ${t} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')}) ON CONFLICT (id) DO NOTHING`));
    }
  }

  async write(rows: readonly AnyRow[]): Promise<void> {
    try {
      this.#db.transaction(() => {
        for (const r of rows) this.#inserts.get(r.table)!.run(fill(r));
      }).immediate();
    } catch (err) {
      throw new AnalyticsStoreError({ store: this.where, operation: 'write' }, { cause: err });
    }
  }

  async purge(before: number): Promise<number> {
    let n = 0;
    this.#db.transaction(() => {
      for (const t of TABLE_NAMES) n += this.#db.prepare(`DELETE FROM ${t} WHERE ${TIME_COLUMN[t]} < ?`).run(before).changes;
    }).immediate();
    return n;
  }

  async query<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#db.prepare(sql).all(...params) as T[];
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}

/** Named parameters must all be present: a column the row does not set is NULL. */
function fill(r: AnyRow): Record<string, SqlValue> {
  const out: Record<string, SqlValue> = {};
  for (const c of columns(r.table)) out[c] = r.row[c] ?? null;
  return out;
}
