import type { AnyRow } from './tables.js';

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

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
