import { PoolOptionsError } from './errors.js';
import { unlimitedGate, type CapacityGate, type ConnectionFactory, type PooledConnection } from './types.js';

/** The few logger methods a pool uses; pino's Logger fits. */
export interface PoolLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const silentLogger: PoolLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface BackoffOptions {
  /** First retry delay after a failed open. Default 250. */
  initialMs: number;
  /** Longest retry delay; permanent errors (a rejected key) wait this long. Default 30000. */
  maxMs: number;
  /** Growth per consecutive failure. Default 2. */
  factor: number;
}

export interface PoolOptions<C extends PooledConnection> {
  /** Name in logs and metrics, e.g. `asr`. */
  name: string;
  factory: ConnectionFactory<C>;
  /** Warm floor: opened at start and always kept. */
  min: number;
  /** Most connections ever held. */
  max: number;
  /** Target = peak concurrency × (1 + headroom). Default 0.25. */
  headroom?: number;
  /** How long acquire() waits when nothing is free. Default 2000. */
  acquireTimeoutMs?: number;
  /** Connections older than this are replaced (±10 % jitter). Default 1 h. */
  maxAgeMs?: number;
  /** Out-of-band keepalive interval on idle connections; 0 = off. Default 0. */
  keepaliveMs?: number;
  /** A keepalive that takes longer fails. Default 2000. */
  keepaliveTimeoutMs?: number;
  /** Window over which peak concurrency is observed. Default 60000. */
  sizingWindowMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** Provider concurrency cap: one slot per open connection. Default unlimited. */
  gate?: CapacityGate;
  logger?: PoolLogger;
  /** How long close() waits for leases to come back before destroying. Default 5000. */
  closeGraceMs?: number;
  /** How often acquisition p95 is checked against SLOW_ACQUIRE_P95_MS. Default 5000. */
  slowCheckMs?: number;
}

/** Every option checked and defaulted, once, when the pool is built. */
export type ResolvedPoolOptions<C extends PooledConnection> = Readonly<Required<Omit<PoolOptions<C>, 'backoff'>> & { backoff: Readonly<BackoffOptions> }>;

function check(pool: string, option: string, value: unknown, ok: boolean, expected: string): void {
  if (!ok) throw new PoolOptionsError({ pool, option, value, expected });
}

/** A warm floor set at run time (an ops action): an integer from 0 to max, or WL_ERR_POOL_OPTIONS. */
export function checkFloor(pool: string, min: number, max: number): void {
  check(pool, 'min', min, Number.isInteger(min) && min >= 0 && min <= max, `an integer from 0 to max (${max})`);
}

/** Throws WL_ERR_POOL_OPTIONS naming the first option that is out of range and what it accepts. */
export function resolvePoolOptions<C extends PooledConnection>(options: PoolOptions<C>): ResolvedPoolOptions<C> {
  const n = options.name;
  check(n, 'name', n, typeof n === 'string' && n.length > 0, 'a non-empty string');
  check(n, 'min', options.min, Number.isInteger(options.min) && options.min >= 0, 'an integer >= 0');
  check(n, 'max', options.max, Number.isInteger(options.max) && options.max >= 1, 'an integer >= 1');
  check(n, 'min', options.min, options.min <= options.max, `at most max (${options.max})`);
  const headroom = options.headroom ?? 0.25;
  check(n, 'headroom', headroom, Number.isFinite(headroom) && headroom >= 0, 'a number >= 0');
  const acquireTimeoutMs = options.acquireTimeoutMs ?? 2000;
  check(n, 'acquireTimeoutMs', acquireTimeoutMs, acquireTimeoutMs > 0, 'a number > 0');
  const keepaliveMs = options.keepaliveMs ?? 0;
  check(n, 'keepaliveMs', keepaliveMs, keepaliveMs >= 0, 'a number >= 0 (0 = off)');
  const backoff = { initialMs: 250, maxMs: 30_000, factor: 2, ...options.backoff };
  check(n, 'backoff.initialMs', backoff.initialMs, backoff.initialMs > 0, 'a number > 0');
  check(n, 'backoff.maxMs', backoff.maxMs, backoff.maxMs >= backoff.initialMs, 'at least backoff.initialMs');
  return {
    name: n,
    factory: options.factory,
    min: options.min,
    max: options.max,
    headroom,
    acquireTimeoutMs,
    maxAgeMs: options.maxAgeMs ?? 3_600_000,
    keepaliveMs,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 2000,
    sizingWindowMs: options.sizingWindowMs ?? 60_000,
    backoff,
    gate: options.gate ?? unlimitedGate,
    logger: options.logger ?? silentLogger,
    closeGraceMs: options.closeGraceMs ?? 5000,
    slowCheckMs: options.slowCheckMs ?? 5000,
  };
}
