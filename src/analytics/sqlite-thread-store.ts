import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AnalyticsStore, SqlValue } from './store-contract.js';
import type { AnyRow } from './tables.js';
import { MIGRATIONS, TABLE_NAMES, TIME_COLUMN, columns } from './tables.js';
import { AnalyticsStoreError } from './errors.js';

/** The messages sqlite-worker.mjs takes and answers. */
type WorkerRequest =
  | { id: number; op: 'migrate' | 'close' }
  | { id: number; op: 'write'; rows: AnyRow[] }
  | { id: number; op: 'purge'; before: number }
  | { id: number; op: 'query'; sql: string; params: SqlValue[] };
type WorkerReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string; cause: string };

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; operation: string };
type Body<R> = R extends unknown ? Omit<R, 'id'> : never;

/**
 * SQLite behind a worker thread (sqlite-worker.mjs, given every statement from
 * tables.ts): each transaction runs off the gateway's event loop. Rows cross by structured
 * clone. A worker that dies fails what was pending (the writer retries it) and
 * is started again on the next request.
 */
export class SqliteThreadStore implements AnalyticsStore {
  readonly kind = 'sqlite' as const;
  readonly where: string;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #closed = false;

  constructor(file: string) {
    this.where = file;
    // A folder that cannot be made is a configuration error: said at start, not retried forever.
    try {
      mkdirSync(dirname(file), { recursive: true });
    } catch (err) {
      throw new AnalyticsStoreError({ store: file, operation: 'open' }, { cause: err });
    }
  }

  #start(): Worker {
    const workerData = {
      file: this.where,
      migrations: MIGRATIONS,
      columns: Object.fromEntries(TABLE_NAMES.map((t) => [t, columns(t)])),
      timeColumns: TIME_COLUMN,
    };
    const w = new Worker(new URL('./sqlite-worker.mjs', import.meta.url), { workerData, execArgv: [] });
    w.on('message', (m: WorkerReply) => {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new AnalyticsStoreError({ store: this.where, operation: p.operation }, { cause: new Error(m.cause || m.message) }));
    });
    const fail = (err: Error) => {
      if (this.#worker === w) this.#worker = undefined;
      for (const [id, p] of this.#pending) {
        this.#pending.delete(id);
        p.reject(new AnalyticsStoreError({ store: this.where, operation: p.operation }, { cause: err }));
      }
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`sqlite worker exited with code ${code}`)));
    this.#worker = w;
    return w;
  }

  #call<T>(req: Body<WorkerRequest>): Promise<T> {
    if (this.#closed && req.op !== 'close') return Promise.reject(new AnalyticsStoreError({ store: this.where, operation: `${req.op} after close` }));
    const w = this.#worker ?? this.#start();
    const id = ++this.#next;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject, operation: req.op });
      w.postMessage({ ...req, id });
    });
  }

  migrate(): Promise<void> {
    return this.#call({ op: 'migrate' });
  }

  write(rows: readonly AnyRow[]): Promise<void> {
    return this.#call({ op: 'write', rows: [...rows] });
  }

  purge(before: number): Promise<number> {
    return this.#call({ op: 'purge', before });
  }

  query<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.#call({ op: 'query', sql, params: [...params] });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const w = this.#worker;
    if (!w) return;
    await this.#call({ op: 'close' }).catch(() => undefined);
    await w.terminate();
  }
}
