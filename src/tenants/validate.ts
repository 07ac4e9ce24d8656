import { ConfigInvalidError, type ConfigIssue } from '../config/errors.js';
import type { WarmlineConfig } from '../config/index.js';

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
