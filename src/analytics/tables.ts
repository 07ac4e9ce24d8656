/**
 * The analytics tables: one column list per table, the single source for the
 * migrations, the INSERTs of both stores, and the README. Times are
 * milliseconds since the epoch (BIGINT); durations are milliseconds (DOUBLE).
 * The same SQL runs on SQLite and PostgreSQL: SQLite gives BIGINT and DOUBLE
 * PRECISION their integer and real affinities.
 */

type SqlType = 'TEXT' | 'BIGINT' | 'INTEGER' | 'DOUBLE PRECISION';

/** Column name → SQL type; `id` (TEXT, the primary key) comes first in every table. */
export const TABLES = {
  calls: {
    id: 'TEXT', sip_call_id: 'TEXT', did: 'TEXT', caller: 'TEXT', agent: 'TEXT', replica: 'TEXT',
    codec: 'TEXT', transport: 'TEXT', started_at: 'BIGINT', answered_at: 'BIGINT', ended_at: 'BIGINT',
    end_reason: 'TEXT', turns: 'INTEGER', rtp_received: 'BIGINT', rtp_sent: 'BIGINT', rtp_lost: 'BIGINT', rtp_dropped: 'BIGINT',
    tenant: 'TEXT', refusal: 'TEXT', region: 'TEXT', failover_from: 'TEXT',
  },
  turns: {
    id: 'TEXT', call_id: 'TEXT', turn: 'INTEGER', agent: 'TEXT', replica: 'TEXT', at: 'BIGINT', outcome: 'TEXT',
    asr_final_ms: 'DOUBLE PRECISION', llm_first_token_ms: 'DOUBLE PRECISION', tts_first_audio_ms: 'DOUBLE PRECISION',
    first_rtp_out_ms: 'DOUBLE PRECISION', done_ms: 'DOUBLE PRECISION',
    acquire_asr_ms: 'DOUBLE PRECISION', acquire_tts_ms: 'DOUBLE PRECISION', acquire_llm_ms: 'DOUBLE PRECISION', acquire_crm_ms: 'DOUBLE PRECISION',
    connections_opened: 'INTEGER',
  },
  pool_snapshots: {
    id: 'TEXT', at: 'BIGINT', replica: 'TEXT', pool: 'TEXT', upstream: 'TEXT', pool_key: 'TEXT', state: 'TEXT',
    size: 'INTEGER', idle: 'INTEGER', in_use: 'INTEGER', target: 'INTEGER', pending: 'INTEGER',
    acquire_p50_ms: 'DOUBLE PRECISION', acquire_p95_ms: 'DOUBLE PRECISION', acquire_p99_ms: 'DOUBLE PRECISION',
    opens: 'BIGINT', closes: 'BIGINT', replacements: 'BIGINT', keepalive_failures: 'BIGINT', exhausted: 'BIGINT',
  },
  pool_events: {
    id: 'TEXT', at: 'BIGINT', replica: 'TEXT', pool: 'TEXT', upstream: 'TEXT', pool_key: 'TEXT', kind: 'TEXT', reason: 'TEXT',
  },
  registration_events: {
    id: 'TEXT', at: 'BIGINT', replica: 'TEXT', registration: 'TEXT', state: 'TEXT', previous: 'TEXT',
    last_status: 'INTEGER', failures: 'INTEGER', rtt_ms: 'DOUBLE PRECISION',
  },
  lease_events: {
    id: 'TEXT', at: 'BIGINT', replica: 'TEXT', provider: 'TEXT', kind: 'TEXT', mode: 'TEXT',
    held: 'INTEGER', cap: 'INTEGER', local_cap: 'INTEGER', replicas: 'INTEGER',
  },
} as const satisfies Record<string, Record<string, SqlType>>;

export type TableName = keyof typeof TABLES;
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

type TsOf<T extends SqlType> = T extends 'TEXT' ? string : number;
/** A row of table T; every column but `id` may be null (a mark never reached, a call never answered). */
type Columns<T extends TableName> = (typeof TABLES)[T];
export type Row<T extends TableName> = { id: string } & { -readonly [K in Exclude<keyof Columns<T>, 'id'>]: Columns<T>[K] extends SqlType ? TsOf<Columns<T>[K]> | null : never };

export interface AnyRow {
  table: TableName;
  row: Record<string, string | number | null>;
}

export function columns(table: TableName): string[] {
  return Object.keys(TABLES[table]);
}

/** Columns added after the first migration: version 1 creates the tables without them, a later one adds them. */
const ADDED: Partial<Record<TableName, Record<string, number>>> = { calls: { tenant: 2, refusal: 2, region: 3, failover_from: 3 } };
const addedIn = (t: TableName, c: string): number | undefined => ADDED[t]?.[c];

/** Each migration runs once, in order, inside a transaction; the version is recorded in analytics_migrations. */
export const MIGRATIONS: ReadonlyArray<{ version: number; name: string; sql: string[] }> = [
  {
    version: 1,
    name: 'tables',
    sql: [
      ...TABLE_NAMES.map((t) => `CREATE TABLE IF NOT EXISTS ${t} (${Object.entries(TABLES[t]).filter(([c]) => addedIn(t, c) === undefined).map(([c, type]) => (c === 'id' ? 'id TEXT PRIMARY KEY' : `${c} ${type}`)).join(', ')})`),
      // Reports and retention select by time; the dashboard's waterfall by call.
      'CREATE INDEX IF NOT EXISTS calls_started ON calls (started_at)',
      'CREATE INDEX IF NOT EXISTS turns_at ON turns (at)',
      'CREATE INDEX IF NOT EXISTS turns_call ON turns (call_id)',
      'CREATE INDEX IF NOT EXISTS pool_snapshots_at ON pool_snapshots (at)',
      'CREATE INDEX IF NOT EXISTS pool_events_at ON pool_events (at)',
      'CREATE INDEX IF NOT EXISTS registration_events_at ON registration_events (at)',
      'CREATE INDEX IF NOT EXISTS lease_events_at ON lease_events (at)',
    ],
  },
  {
    // Tenants (src/tenants): whose call it was, and why a call over its tenant's limit was refused.
    version: 2,
    name: 'tenants',
    sql: [
      ...TABLE_NAMES.flatMap((t) => Object.entries(TABLES[t]).filter(([c]) => addedIn(t, c) === 2).map(([c, type]) => `ALTER TABLE ${t} ADD COLUMN ${c} ${type}`)),
      'CREATE INDEX IF NOT EXISTS calls_tenant ON calls (tenant, started_at)',
    ],
  },
  {
    // Regions (src/boot/regions.ts): where a call's upstreams were, and the region it failed over from.
    version: 3,
    name: 'regions',
    sql: TABLE_NAMES.flatMap((t) => Object.entries(TABLES[t]).filter(([c]) => addedIn(t, c) === 3).map(([c, type]) => `ALTER TABLE ${t} ADD COLUMN ${c} ${type}`)),
  },
];

/** The column each table's retention and time-range queries use. */
export const TIME_COLUMN: Record<TableName, string> = {
  calls: 'started_at', turns: 'at', pool_snapshots: 'at', pool_events: 'at', registration_events: 'at', lease_events: 'at',
};
