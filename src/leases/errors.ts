import { defineError } from '../errors.js';

export const LeaseInvalidArgumentError = defineError<{ argument: string; value: unknown }>(
  'WL_ERR_LEASE_INVALID_ARGUMENT',
  'LeaseInvalidArgumentError',
  (c) => `lease argument ${c.argument} is invalid: ${String(c.value)}`,
);

export const LeaseLostError = defineError<{ key: string; token: number; reason: string }>(
  'WL_ERR_LEASE_LOST',
  'LeaseLostError',
  (c) => `lease ${c.key} (token ${c.token}) was lost: ${c.reason}`,
);
