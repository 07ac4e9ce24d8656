import { z } from 'zod';

/**
 * Regions: the same providers reached at different places (Deepgram's US and EU endpoints, an LLM
 * deployment per continent). A replica lives in one region (`region`), warms pools in every region
 * a call may be routed to, and routes each call by a rule (`routing`, per tenant, per DID).
 * With no regions (the default) every upstream is reached as `upstreams.*` says, as before.
 */

export const regionName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'lower-case letters, digits and -, starting with a letter (it labels metrics)');

const endpointSchema = z.strictObject({
  baseUrl: z.url({ protocol: /^(wss?|https?)$/ }),
  /** '' = the upstream's own key (upstreams.<u>.apiKey). */
  apiKey: z.string().default(''),
});

export const regionSchema = z.strictObject({
  name: regionName,
  /** Each upstream this region reaches at its own address; one left out is reached as upstreams.<u> says, from every region. */
  asr: endpointSchema.optional(),
  tts: endpointSchema.optional(),
  llm: endpointSchema.optional(),
  crm: endpointSchema.optional(),
  /** PEM file of a private CA this region's endpoints present (a self-hosted or emulated region); '' = the system's. */
  caFile: z.string().default(''),
});

/**
 * How a call picks its region. nearest: the replica's own region while it is alive, else the alive
 * region with the lowest measured round trip; pinned: one region only (data residency), refused when
 * it is dead; failover: the listed regions in order, the first alive one.
 */
export const routingSchema = z.strictObject({
  rule: z.enum(['nearest', 'pinned', 'failover']).default('nearest'),
  /** nearest: the candidates ([] = every region); pinned: exactly one; failover: the order. */
  regions: z.array(regionName).default([]),
});

/** The fleet-wide default rule, and the floor of pools in regions other than the replica's own. */
export const defaultRoutingSchema = z.strictObject({
  rule: z.enum(['nearest', 'pinned', 'failover']),
  regions: z.array(regionName),
  /** A standby region's pools keep this fraction of each floor (pools.<u>.min), rounded up; 0 keeps them cold. */
  standbyFloor: z.number().min(0).max(1),
});

export type RegionConfig = z.infer<typeof regionSchema>;
export type RoutingConfig = z.infer<typeof routingSchema>;

interface RegionsShape {
  region: string;
  regions: readonly RegionConfig[];
  routing: RoutingConfig;
  routes: ReadonlyArray<{ routing?: RoutingConfig | undefined }>;
  tenants: ReadonlyArray<{ routing?: RoutingConfig | undefined; dids: ReadonlyArray<{ routing?: RoutingConfig | undefined }> }>;
}

/** Cross-checks: the replica's region and every rule name configured regions; pinned names one. */
export function checkRegions(c: RegionsShape, ctx: z.RefinementCtx): void {
  const names = new Set<string>();
  c.regions.forEach((r, i) => {
    if (names.has(r.name)) ctx.addIssue({ code: 'custom', path: ['regions', i, 'name'], message: `a unique name (${r.name} is used twice)` });
    names.add(r.name);
  });
  if (names.size > 0 && !names.has(c.region)) {
    ctx.addIssue({ code: 'custom', path: ['region'], message: `this replica's region, one of regions (${[...names].join(', ')})` });
  }
  if (names.size === 0 && c.region !== '') ctx.addIssue({ code: 'custom', path: ['region'], message: 'empty while no regions are configured' });
  const rule = (r: RoutingConfig | undefined, path: Array<string | number>) => {
    if (!r) return;
    r.regions.forEach((n, j) => {
      if (!names.has(n)) ctx.addIssue({ code: 'custom', path: [...path, 'regions', j], message: names.size ? `one of regions (${[...names].join(', ')})` : 'a region configured under regions (there are none)' });
    });
    if (r.rule === 'pinned' && r.regions.length !== 1) ctx.addIssue({ code: 'custom', path: [...path, 'regions'], message: 'exactly one region for a pinned rule' });
    if (r.rule === 'failover' && r.regions.length === 0) ctx.addIssue({ code: 'custom', path: [...path, 'regions'], message: 'the regions in the order to try them, for a failover rule' });
  };
  rule(c.routing, ['routing']);
  c.routes.forEach((r, i) => rule(r.routing, ['routes', i, 'routing']));
  c.tenants.forEach((t, i) => {
    rule(t.routing, ['tenants', i, 'routing']);
    t.dids.forEach((d, j) => rule(d.routing, ['tenants', i, 'dids', j, 'routing']));
  });
}
