import { z } from 'zod';
import { routingSchema } from './schema-regions.js';

/**
 * Tenants: the customers one fleet serves. Each owns its called numbers (DIDs), its agents, its
 * outbound trunks, optionally the browser demo and its own provider keys, and its limits.
 * Unlike the rest of the config, a tenant's optional fields default here: a tenant is an entry of a
 * list, which config/default.yaml (an empty list) cannot give defaults to.
 */

const name = z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/, 'lower-case letters, digits, _ and -, starting with a letter (it labels metrics)');
const did = z.string().regex(/^(\*|\+?[0-9]+\*?)$/, 'a number, a prefix ending in *, or *');
const share = z.number().min(0).max(1);

const tenantAgentSchema = z.strictObject({
  greeting: z.string().default(''),
  systemPrompt: z.string().min(1),
  voiceId: z.string().default(''),
  language: z.string().default(''),
  /** The ASR model; '' = upstreams.asr.model. */
  asrModel: z.string().default(''),
  tools: z.array(z.enum(['lookup_caller', 'book_appointment'])).default([]),
});

const shareSchema = z.strictObject({
  /** Reserved: the other tenants together never leave this tenant less than min × cap. */
  min: share.default(0),
  /** Ceiling: this tenant never holds more than max × cap. */
  max: share.default(1),
}).refine((s) => s.min <= s.max, { message: 'min must not exceed max', path: ['min'] });

export const tenantLimitsSchema = z.strictObject({
  /** Calls in progress, all replicas together; 0 = no limit. */
  maxConcurrent: z.number().int().min(0).default(0),
  /** New calls per second, all replicas together (token bucket); 0 = no limit. */
  cps: z.number().min(0).default(0),
  /** Bucket size: calls that may arrive at once after a quiet spell; 0 = max(1, ceil(cps)). */
  burst: z.number().int().min(0).default(0),
  /** Share of each capped provider's concurrencyCap, in calls (each call holds at most one unit of each). */
  shares: z.strictObject({ asr: shareSchema.optional(), tts: shareSchema.optional(), llm: shareSchema.optional(), crm: shareSchema.optional() }).default({}),
});

const keySchema = z.strictObject({ apiKey: z.string().min(1), baseUrl: z.union([z.literal(''), z.url({ protocol: /^(wss?|https?)$/ })]).default('') });

export const tenantSchema = z.strictObject({
  name,
  /** Called numbers → agent: an exact number, a prefix ending in *, or *. */
  dids: z.array(z.strictObject({ did, agent: z.string().min(1), routing: routingSchema.optional() })).default([]),
  /** The tenant's own agent profiles; a DID may also name a profile under the top-level agents. */
  agents: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), tenantAgentSchema).default({}),
  /** Browser demo sessions (POST /demo/session {"tenant": name}) are this tenant's calls. */
  demo: z.boolean().default(false),
  /** Outbound trunks (carrier registration ids) this tenant dials out through. */
  trunks: z.array(z.string().min(1)).default([]),
  /** The tenant's own provider accounts; absent = the gateway's (upstreams.*). */
  keys: z.strictObject({ asr: keySchema.optional(), tts: keySchema.optional(), llm: keySchema.optional() }).default({}),
  limits: tenantLimitsSchema.default({ maxConcurrent: 0, cps: 0, burst: 0, shares: {} }),
  /** How this tenant's calls pick their region (a DID's own rule wins); absent: the top-level routing. */
  routing: routingSchema.optional(),
});

export const tenantsSchema = z.array(tenantSchema).superRefine((tenants, ctx) => {
  const seen = new Set<string>();
  const dids = new Map<string, string>();
  const trunks = new Map<string, string>();
  const reserved: Record<string, number> = {};
  tenants.forEach((t, i) => {
    if (t.name === 'default') ctx.addIssue({ code: 'custom', path: [i, 'name'], message: 'a name other than "default" (the calls of no tenant)' });
    if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `a unique name (${t.name} is used twice)` });
    seen.add(t.name);
    t.dids.forEach((d, j) => {
      const owner = dids.get(d.did.replace(/^\+/, ''));
      if (owner) ctx.addIssue({ code: 'custom', path: [i, 'dids', j, 'did'], message: `a DID no other tenant owns (${d.did} is ${owner}'s)` });
      dids.set(d.did.replace(/^\+/, ''), t.name);
    });
    t.trunks.forEach((k, j) => {
      const owner = trunks.get(k);
      if (owner) ctx.addIssue({ code: 'custom', path: [i, 'trunks', j], message: `a trunk no other tenant owns (${k} is ${owner}'s)` });
      trunks.set(k, t.name);
    });
    for (const [u, s] of Object.entries(t.limits.shares)) reserved[u] = (reserved[u] ?? 0) + (s?.min ?? 0);
  });
  for (const [u, sum] of Object.entries(reserved)) {
    if (sum > 1 + 1e-9) ctx.addIssue({ code: 'custom', path: [], message: `reserved shares of ${u} (limits.shares.${u}.min) summing to at most 1, not ${sum}` });
  }
});

export type TenantConfig = z.infer<typeof tenantSchema>;
export type TenantLimits = z.infer<typeof tenantLimitsSchema>;
export type TenantAgentConfig = z.infer<typeof tenantAgentSchema>;
