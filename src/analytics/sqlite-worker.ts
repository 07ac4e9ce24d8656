/**
 * The SQLite store's own thread: better-sqlite3 is synchronous, so its
 * transactions run here and the gateway's event loop (the pacer, RTP, SIP)
 * never waits for one. One request at a time, in order, answered by id.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from './sqlite-store.js';
import type { AnyRow } from './tables.js';
import type { SqlValue } from './store.js';

export type WorkerRequest =
  | { id: number; op: 'migrate' | 'close' }
  | { id: number; op: 'write'; rows: AnyRow[] }
  | { id: number; op: 'purge'; before: number }
  | { id: number; op: 'query'; sql: string; params: SqlValue[] };

export type WorkerReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string; cause: string };

const port = parentPort!;
const store = new SqliteStore((workerData as { file: string }).file);

async function handle(r: WorkerRequest): Promise<unknown> {
  switch (r.op) {
    case 'migrate': return store.migrate();
    case 'write': return store.write(r.rows);
    case 'purge': return store.purge(r.before);
    case 'query': return store.query(r.sql, r.params);
    case 'close': return store.close();
  }
}

port.on('message', (r: WorkerRequest) => {
  handle(r).then(
    (value) => port.postMessage({ id: r.id, ok: true, value } satisfies WorkerReply),
    (err: unknown) => {
      const e = err as Error & { cause?: unknown };
      port.postMessage({ id: r.id, ok: false, message: e.message, cause: e.cause instanceof Error ? e.cause.message : String(e.cause ?? '') } satisfies WorkerReply);
    },
  );
});
