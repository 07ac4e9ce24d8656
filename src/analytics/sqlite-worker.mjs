// The SQLite store's own thread. better-sqlite3 is synchronous: its transactions run here, so
// the gateway's event loop (pacer, RTP, SIP) never waits for one. Plain JavaScript, so the
// thread starts in milliseconds without a TypeScript loader; every statement comes from
// tables.ts through workerData (see sqlite-thread-store.ts). One request at a time, answered by id.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, migrations, columns, timeColumns } = workerData;
mkdirSync(dirname(file), { recursive: true });
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
// A locked file fails the batch (retried later) instead of waiting long.
db.pragma('busy_timeout = 50');
const inserts = new Map();

function migrate() {
  // Two stores may migrate one file at once (another process, a report or a reader opened beside a
  // gateway): each version is looked up and applied inside one IMMEDIATE transaction (SQLite's
  // write lock), so the second migrator waits, then finds the first's row and skips; a check made
  // before the lock let both apply an ALTER TABLE ("duplicate column name"). The wait for the lock
  // is long while migrating only.
  db.pragma('busy_timeout = 10000');
  try {
    db.exec('CREATE TABLE IF NOT EXISTS analytics_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at BIGINT)');
    const applied = db.prepare('SELECT 1 FROM analytics_migrations WHERE version = ?');
    for (const m of migrations) {
      db.transaction(() => {
        if (applied.get(m.version)) return;
        for (const sql of m.sql) db.exec(sql);
        db.prepare('INSERT INTO analytics_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
      }).immediate();
    }
  } finally {
    db.pragma('busy_timeout = 50');
  }
  for (const [table, cols] of Object.entries(columns)) {
    inserts.set(table, db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')}) ON CONFLICT (id) DO NOTHING`));
  }
}

function write(rows) {
  db.transaction(() => {
    for (const r of rows) {
      const values = {};
      for (const c of columns[r.table]) values[c] = r.row[c] ?? null;
      inserts.get(r.table).run(values);
    }
  }).immediate();
}

function purge(before) {
  let n = 0;
  db.transaction(() => {
    for (const [table, col] of Object.entries(timeColumns)) n += db.prepare(`DELETE FROM ${table} WHERE ${col} < ?`).run(before).changes;
  }).immediate();
  return n;
}

function handle(r) {
  switch (r.op) {
    case 'migrate': return migrate();
    case 'write': return write(r.rows);
    case 'purge': return purge(r.before);
    case 'query': return db.prepare(r.sql).all(...r.params);
    case 'close': if (db.open) db.close(); return undefined;
    default: throw new Error(`unknown operation ${r.op}`);
  }
}

parentPort.on('message', (r) => {
  try {
    parentPort.postMessage({ id: r.id, ok: true, value: handle(r) });
  } catch (err) {
    parentPort.postMessage({ id: r.id, ok: false, message: String(err?.message ?? err), cause: String(err?.message ?? err) });
  }
});
