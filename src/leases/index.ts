// Own implementation rather than redis-semaphore: the brief needs fencing tokens on every
// grant and a token-checked fenced write, which redis-semaphore does not expose (evaluation
// was not completed; see the report).
export type { LeaseGrant, LeaseStore, SemaphoreHeartbeat, SemaphoreTake, SemaphoreView } from './types.js';
export { fairShare, localDeadline } from './types.js';
export { MemoryLeaseStore } from './memory-store.js';
export { RedisLeaseStore, type RedisLeaseStoreOptions } from './redis-store.js';
export { LeaseInvalidArgumentError, LeaseLostError } from './errors.js';
export { createLeaseGate, LeaseGate, type LeaseGateEvents, type LeaseGateMode, type LeaseGateOptions, type LeaseGateStats, type LeaseLogger } from './lease-gate.js';
export { OwnershipManager, type OwnershipEvents, type OwnershipOptions } from './ownership-manager.js';
export { OwnedRegistrations, type OwnedRegistrationsEvents, type OwnedRegistrationsOptions } from './owned-registrations.js';
