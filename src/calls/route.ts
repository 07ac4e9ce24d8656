import type { AgentConfig, RouteConfig, RoutingConfig } from '../config/index.js';

export interface Route {
  /** The agent profile's name in config (agents.<name>). */
  agent: string;
  profile: AgentConfig;
  /** Whose call it is (src/tenants); absent where no tenant was resolved (the default tenant's). */
  tenant?: string;
  /** The tenant agent's own ASR model; absent = upstreams.asr.model. */
  asrModel?: string;
  /** How the call picks its region (the DID's rule, else its tenant's); absent: the gateway's default rule. */
  routing?: RoutingConfig;
  /** The region its upstreams were taken from, once chosen (src/boot/region-router.ts); absent with no regions. */
  region?: string;
  /** The region it would have used had that one been alive: set when the call failed over. */
  failedOverFrom?: string;
}

/**
 * Carriers write the dialled number as the Request-URI user (`sip:+15551234567@…`),
 * sometimes with visual separators or a `;npdi`/`;rn` parameter (RFC 4694). Only
 * the digits and a leading + decide the route.
 */
export function normaliseNumber(user: string): string {
  const bare = decodeURIComponent(user.split(';')[0] ?? '');
  const plus = bare.startsWith('+') ? '+' : '';
  return plus + bare.replace(/[^0-9]/g, '');
}

/** The user part of a SIP or tel URI: `sip:+1555@host;x` → `+1555`, `tel:+1555` → `+1555`. */
export function uriUser(uri: string): string {
  const m = /^(?:sips?|tel):([^@;?>]*)/i.exec(uri.replace(/^<|>$/g, ''));
  return m?.[1] ?? '';
}

/**
 * The first route whose `did` matches wins: an exact number, a prefix ending
 * in `*`, or `*` for any. A number with and without `+` match each other, since
 * carriers differ on E.164 formatting.
 */
export function findRoute(routes: readonly RouteConfig[], agents: Readonly<Record<string, AgentConfig>>, did: string): Route | undefined {
  const plain = did.replace(/^\+/, '');
  for (const r of routes) {
    const pattern = r.did.replace(/^\+/, '');
    const hit = pattern === '*' || (pattern.endsWith('*') ? plain.startsWith(pattern.slice(0, -1)) : plain === pattern);
    if (hit) {
      const profile = agents[r.agent];
      if (profile) return { agent: r.agent, profile, ...(r.routing && { routing: r.routing }) };
    }
  }
  return undefined;
}
