export type { PooledConnection, ConnectionFactory, CapacityGate, CapacitySlot, PermanentOpenError } from './types.js';
export { isPermanentOpenError, unlimitedGate } from './types.js';
export { PoolBase, SLOW_ACQUIRE_P95_MS, type PoolOptions, type PoolStats, type PoolState, type PoolEvents, type PoolLogger, type BackoffOptions } from './pool-base.js';
export { ExclusivePool } from './exclusive-pool.js';
export { MultiplexedPool } from './multiplexed-pool.js';
export { PoolSet } from './pool-set.js';
export { Lease, type LeaseOwner, type LeaseSource } from './lease.js';
export { PoolMetrics } from './pool-metrics.js';
export { PoolExhaustedError, PoolClosedError, PoolOptionsError, ConnectionLostError, KeepaliveTimeoutError } from './errors.js';
