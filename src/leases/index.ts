// Own implementation rather than redis-semaphore: we need fencing tokens on every grant, a
// token-checked fenced write, a fair share between replicas, one heartbeat renewing all of a
// replica's slots in one round trip, and outage behaviour (local share, re-establishment) that a
// generic semaphore does not give.
export type { LeaseGrant, LeaseLogger, LeaseStore, SemaphoreHeartbeat, SemaphoreTake, SemaphoreView } from './types.js';
export { fairShare, localDeadline } from './types.js';
export { MemoryLeaseStore } from './memory-store.js';
export { RedisLeaseStore, type RedisLeaseStoreOptions } from './redis-store.js';
export { LeaseInvalidArgumentError, LeaseLostError } from './errors.js';
export { OwnershipManager, type OwnershipEvents, type OwnershipOptions } from './ownership-manager.js';
// The gate (leases → pools' CapacityGate) and owned registrations (leases → sip/) are adapters:
// they live in src/boot beside the code that composes the gateway, so this package stays pure.
