import { defineError } from '../errors.js';

/** A dial request that cannot be placed as given (the API answers 400 with the message). */
export const DialInvalidError = defineError<{ field: string; value: unknown; expected: string }>(
  'WL_ERR_DIAL_INVALID',
  'DialInvalidError',
  (c) => `dial request: '${c.field}' has ${c.value === undefined ? 'nothing' : JSON.stringify(c.value)}: expected ${c.expected}`,
);

/**
 * A dial refused before anything is sent: a trunk cap (calls at once, or calls per second, all
 * replicas together), calls.maxConcurrent, no free RTP port, draining, or a lease store that does
 * not answer (caps cannot be checked, so nothing is sent). The API answers 429 for the rate, 503 else.
 */
export const DialRefusedError = defineError<{ why: 'trunk-concurrency' | 'trunk-rate' | 'capacity' | 'draining' | 'lease-store'; limit?: number; detail?: string }>(
  'WL_ERR_DIAL_REFUSED',
  'DialRefusedError',
  (c) => `dial refused (${c.why})${c.limit !== undefined ? `: limit ${c.limit}` : ''}${c.detail ? `: ${c.detail}` : ''}`,
);
