import { RedisLeaseStore, type LeaseStore } from '../leases/index.js';
import { MemoryTenantLimitStore, RedisTenantLimitStore, type TenantLimitStore } from './limit-store.js';

/** Tenant limits live where the provider caps do: Redis when the lease store is Redis (same connection), else in process. */
export function tenantLimitStoreFor(leases: LeaseStore, prefix?: string): TenantLimitStore {
  return leases instanceof RedisLeaseStore ? new RedisTenantLimitStore(leases.redis, prefix) : new MemoryTenantLimitStore();
}
