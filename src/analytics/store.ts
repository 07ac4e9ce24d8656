import { join, resolve } from 'node:path';
import type { AnyRow } from './tables.js';
import { AnalyticsUrlError } from './errors.js';

export type SqlValue = string | number | null;

/**
 * Where analytics rows live. Both stores take the same SQL (written with `?`
 * placeholders; PostgreSQL's are numbered for it) and the same rows.
 */
export interface AnalyticsStore {
  readonly kind: 'sqlite' | 'postgres';
  /** The file, or the URL without its password: safe to log and print. */
  readonly where: string;
  /** Creates or upgrades the tables; safe to run from several replicas at once. */
  migrate(): Promise<void>;
  /** One transaction. Rows already stored (same id) are skipped, so a retried batch never doubles. */
  write(rows: readonly AnyRow[]): Promise<void>;
  /** Deletes rows older than `before` (ms since the epoch); returns how many. */
  purge(before: number): Promise<number>;
  query<T extends object>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  close(): Promise<void>;
}

export interface StoreTarget {
  url: string;
  dataDir: string;
  schema: string;
}

/**
 * `postgres://…` opens PostgreSQL; empty opens SQLite in dataDir, run in a worker thread so its
 * synchronous transactions never hold the gateway's event loop. Loaded on demand: a SQLite
 * gateway never loads pg.
 */
export async function openStore(target: StoreTarget): Promise<AnalyticsStore> {
  if (target.url === '') {
    const { SqliteThreadStore } = await import('./sqlite-thread-store.js');
    return new SqliteThreadStore(resolve(join(target.dataDir, 'analytics.sqlite')));
  }
  if (/^postgres(ql)?:\/\//.test(target.url)) {
    const { PostgresStore } = await import('./postgres-store.js');
    return new PostgresStore(target.url, target.schema);
  }
  if (target.url.startsWith('sqlite:')) {
    const { SqliteThreadStore } = await import('./sqlite-thread-store.js');
    return new SqliteThreadStore(resolve(target.url.slice('sqlite:'.length)));
  }
  throw new AnalyticsUrlError({ url: redactUrl(target.url), expected: 'empty (SQLite in analytics.dataDir), sqlite:FILE or postgres://user@host:port/db' });
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
