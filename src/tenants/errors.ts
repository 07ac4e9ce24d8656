import { defineError } from '../errors.js';

export const TenantStoreError = defineError<{ operation: string }>(
  'WL_ERR_TENANT_STORE',
  'TenantStoreError',
  (c) => `the tenant limit store did not answer (${c.operation}): the tenant limits in force are unchanged`,
);
