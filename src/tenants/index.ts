export { Tenants, type TenantsOptions, type TenantRefusal, type TenantUsage } from './tenants.js';
export { TenantDirectory, DEFAULT_TENANT, type TenantView } from './directory.js';
export { TenantAdmission, type Admission } from './admission.js';
export { MemoryTenantLimitStore, RedisTenantLimitStore, decide, type TenantLimitStore, type AdmitResult, type RefusalReason } from './limit-store.js';
export { sipAnswer } from './sip-answer.js';
export { checkTenants } from './validate.js';
export { TenantStoreError } from './errors.js';
export { tenantRoutes, reloadTenants, type ReloadOutcome } from './http.js';
export { tenantLimitStoreFor } from './store-for.js';
