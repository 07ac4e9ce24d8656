import { defineError } from '../errors.js';

/** Our delayed-offer 200 carried the offer; the ACK had to carry the answer (RFC 3264 §5). */
export const SdpAnswerError = defineError<{ callId: string; why: string }>(
  'WL_ERR_SDP_ANSWER',
  'SdpAnswerError',
  (c) => `call ${c.callId}: the answer in the ACK to our offer is not usable: ${c.why}`,
);

/** A dial request that cannot be placed as given (the API answers 400 with the message). */
export const DialInvalidError = defineError<{ field: string; value: unknown; expected: string }>(
  'WL_ERR_DIAL_INVALID',
  'DialInvalidError',
  (c) => `dial request: '${c.field}' has ${c.value === undefined ? 'nothing' : JSON.stringify(c.value)}: expected ${c.expected}`,
);

/**
 * A dial refused before anything is sent: a trunk cap (calls at once, or calls per second, all
 * replicas together), the trunk's tenant's limits (its cps, its concurrent calls, its share of a
 * provider cap), calls.maxConcurrent, no free RTP port, draining, or a lease store that does not
 * answer (caps cannot be checked, so nothing is sent). The API answers 429 for a rate, 503 else.
 */
export const DialRefusedError = defineError<{ why: 'trunk-concurrency' | 'trunk-rate' | 'tenant-rate' | 'tenant-limit' | 'capacity' | 'draining' | 'lease-store' | 'region'; limit?: number; detail?: string; retryAfterS?: number }>(
  'WL_ERR_DIAL_REFUSED',
  'DialRefusedError',
  (c) => `dial refused (${c.why})${c.limit !== undefined ? `: limit ${c.limit}` : ''}${c.detail ? `: ${c.detail}` : ''}`,
);

/** A bare leg (a transfer's target) that did not answer: busy, no answer, refused, unreachable, cancelled. */
export const DialUnansweredError = defineError<{ to: string; reason: string; status?: number; detail?: string }>(
  'WL_ERR_DIAL_UNANSWERED',
  'DialUnansweredError',
  (c) => `${c.to} did not answer: ${c.reason}${c.status !== undefined ? ` (${c.status})` : ''}${c.detail ? `: ${c.detail}` : ''}`,
);

/**
 * Why work started for a call stops once the call has ended: the upstream acquisitions its lease
 * ledger still waits for, a transfer's leg to the target still ringing, an answer whose RTP
 * session opened too late. A normal end, not a fault. The ledger's one instance serves every
 * call (call-leases.ts) and names none; the others carry `callId` where they know it.
 */
export const CallEndedError = defineError<{ callId?: string }>(
  'WL_ERR_CALL_ENDED',
  'CallEndedError',
  () => 'the call ended',
);

/**
 * A new call refused because the gateway is overloaded: its event loop lags past
 * calls.overload.maxLoopDelayMs (src/calls/overload-guard.ts). Nothing was sent; the API answers
 * 503 with Retry-After, as new INVITEs get 503 meanwhile.
 */
export const OverloadedError = defineError<{ delayMs: number; maxLoopDelayMs: number; retryAfterS: number }>(
  'WL_ERR_OVERLOADED',
  'OverloadedError',
  (c) => `overloaded: the event loop lags ${c.delayMs} ms (calls.overload.maxLoopDelayMs ${c.maxLoopDelayMs}): no new calls until it recovers; retry in ${c.retryAfterS} s`,
);
