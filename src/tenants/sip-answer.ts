import type { RefusalReason } from './limit-store.js';

export interface SipAnswer { status: number; reason: string; headers: Record<string, string> }

/**
 * The SIP answer to a call over its tenant's limit, chosen so the carrier does the useful thing:
 * - cps → 503 with Retry-After: the burst passes within seconds, and a carrier that honours
 *   Retry-After (RFC 3261 §21.5.4) backs off instead of hammering;
 * - concurrency or a provider share → 486 Busy Here: the limit is the tenant's across the whole
 *   fleet, so "try another server" (503) would only bounce the call to a replica that refuses it too;
 *   486 ends the attempt and plays busy, as a PBX with every line in use does. (480 would invite a
 *   retry of the same destination, with no better outcome.)
 */
export function sipAnswer(reason: RefusalReason, tenant: string, retryAfterS: number): SipAnswer {
  if (reason === 'cps') {
    return { status: 503, reason: 'Service Unavailable', headers: { 'Retry-After': String(retryAfterS), Warning: `399 warmline "tenant ${tenant} over its calls per second"` } };
  }
  const what = reason === 'concurrency' ? 'at its concurrent calls limit' : 'at its share of a provider cap';
  return { status: 486, reason: 'Busy Here', headers: { Warning: `399 warmline "tenant ${tenant} ${what}"` } };
}
