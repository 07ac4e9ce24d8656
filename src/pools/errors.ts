import { defineError } from '../errors.js';

export const PoolExhaustedError = defineError<{ pool: string; waitedMs: number; size: number; max: number; pending: number }>(
  'WL_ERR_POOL_EXHAUSTED',
  'PoolExhaustedError',
  (c) => `pool ${c.pool} had no free connection after ${Math.round(c.waitedMs)} ms (size ${c.size} of max ${c.max}, ${c.pending} waiting)`,
);

export const PoolClosedError = defineError<{ pool: string }>(
  'WL_ERR_POOL_CLOSED',
  'PoolClosedError',
  (c) => `pool ${c.pool} is closed`,
);

export const PoolOptionsError = defineError<{ pool: string; option: string; value: unknown; expected: string }>(
  'WL_ERR_POOL_OPTIONS',
  'PoolOptionsError',
  (c) => `pool ${c.pool}: option ${c.option} is ${JSON.stringify(c.value)}, expected ${c.expected}`,
);

export const ConnectionLostError = defineError<{ pool: string; connection: string; reason: string }>(
  'WL_ERR_CONNECTION_LOST',
  'ConnectionLostError',
  (c) => `pool ${c.pool}: connection ${c.connection} was lost while leased: ${c.reason}`,
);

export const KeepaliveTimeoutError = defineError<{ pool: string; connection: string; timeoutMs: number }>(
  'WL_ERR_KEEPALIVE_TIMEOUT',
  'KeepaliveTimeoutError',
  (c) => `pool ${c.pool}: keepalive on ${c.connection} got no answer within ${c.timeoutMs} ms`,
);
