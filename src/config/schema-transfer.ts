import { z } from 'zod';

/**
 * Transfer to a person (the `transfer_call` tool and POST /api/calls/:id/transfer).
 * `targets` is the allowlist: an agent (or an API caller) names a target, never
 * dials a number of its own choosing, so a talked-into model cannot place toll calls.
 */
export const transferSchema = z.strictObject({
  notifyTimeoutMs: z.number().int().min(1),
  answerTimeoutMs: z.number().int().min(1),
  fallback: z.boolean(),
  /** The outbound.trunks id the fallback dials through; '' for the first of outbound.trunks. */
  trunk: z.string(),
  targets: z.array(z.strictObject({
    name: z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, _ and - (the tool and the API name the target by it)'),
    uri: z.string().regex(/^(sips?:[^\s<>]+@[^\s<>]+|tel:\+?[0-9][0-9-]*)$/, 'a sip:user@host, sips: or tel: URI'),
    /** The agent profiles that may transfer here; `*` for every one. */
    agents: z.array(z.string().min(1)).min(1),
  })).refine((t) => new Set(t.map((x) => x.name)).size === t.length, 'target names must be unique'),
});

export type TransferConfig = z.infer<typeof transferSchema>;
export type TransferTargetConfig = TransferConfig['targets'][number];
