import { ConfigInvalidError, type ConfigIssue } from '../config/errors.js';
import type { RoutingConfig, WarmlineConfig } from '../config/index.js';

/**
 * What the schema alone cannot see: a tenant's DID must name an agent that exists (the tenant's
 * own, or a top-level one). Run at boot and on every reload; throws WL_ERR_CONFIG_INVALID.
 */
export function checkTenants(config: WarmlineConfig, source = 'config'): void {
  const issues: ConfigIssue[] = [];
  config.tenants.forEach((t, i) => {
    t.dids.forEach((d, j) => {
      if (!(d.agent in t.agents) && !(d.agent in config.agents)) {
        issues.push({ key: `tenants.${i}.dids.${j}.agent`, value: d.agent, expected: `one of tenant ${t.name}'s agents (${Object.keys(t.agents).join(', ') || 'none'}) or the top-level agents (${Object.keys(config.agents).join(', ')})`, source });
      }
    });
  });
  if (issues.length) throw new ConfigInvalidError({ issues });
}

/**
 * A reload takes tenants only: regions (their endpoints, factories and pools) are learned at boot.
 * A reloaded tenant or DID whose rule names a region this process does not run is refused here, so
 * no call is ever routed to a region it has no pools for. `running` is the configuration in force.
 */
export function checkTenantRegions(running: WarmlineConfig, next: WarmlineConfig, source = 'config'): void {
  const known = new Set(running.regions.map((r) => r.name));
  const issues: ConfigIssue[] = [];
  const rule = (r: RoutingConfig | undefined, key: string) => {
    r?.regions.forEach((n, j) => {
      if (known.has(n)) return;
      const have = known.size ? `one of the running regions (${[...known].join(', ')})` : 'no region (this process runs none)';
      issues.push({ key: `${key}.regions.${j}`, value: n, expected: `${have}: a regions change needs a restart`, source });
    });
  };
  next.tenants.forEach((t, i) => {
    rule(t.routing, `tenants.${i}.routing`);
    t.dids.forEach((d, j) => rule(d.routing, `tenants.${i}.dids.${j}.routing`));
  });
  if (issues.length) throw new ConfigInvalidError({ issues });
}
