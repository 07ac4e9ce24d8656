import { join, resolve } from 'node:path';
import { AnalyticsUrlError } from './errors.js';
import { redactUrl } from './store-contract.js';

export { redactUrl, type AnalyticsStore, type SqlValue } from './store-contract.js';
import type { AnalyticsStore } from './store-contract.js';

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
