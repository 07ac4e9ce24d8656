import { z } from 'zod';

/**
 * Outbound calls (POST /api/calls): each trunk is one of `registrations` (its domain and
 * credentials) with the caps every replica together keeps to, through the lease store.
 */
export const outboundSchema = z.strictObject({
  ringTimeoutS: z.number().int().min(1).max(300),
  /** No response at all from an RFC 3263 target this long: the next one is tried (the last waits for the ring timeout). */
  targetTimeoutMs: z.number().int().min(100).max(60_000),
  trunks: z.array(z.strictObject({
    /** The id of a `registrations` entry: its user, domain, credentials and registrar. */
    id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . -'),
    maxConcurrent: z.number().int().min(1),
    callsPerSecond: z.number().int().min(1),
    /** Where INVITEs go; default the registration's registrar (RFC 3263 when a name without port). */
    proxy: z.strictObject({
      host: z.string().min(1),
      port: z.number().int().min(1).max(65535).optional(),
      transport: z.enum(['udp', 'tcp', 'tls']).optional(),
    }).optional(),
  })).refine((t) => new Set(t.map((x) => x.id)).size === t.length, 'trunk ids must be unique'),
});

export type OutboundConfig = z.infer<typeof outboundSchema>;
export type TrunkConfig = OutboundConfig['trunks'][number];
