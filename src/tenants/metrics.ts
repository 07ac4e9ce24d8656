import { Counter, Gauge, type Registry } from 'prom-client';
import type { TenantAdmission } from './admission.js';

export interface TenantMetrics {
  refusals: Counter<'tenant' | 'reason'>;
  admitted: Counter<'tenant'>;
}

/** Per-tenant metrics; the gauges are read at scrape time from this replica's admission ledger. */
export function createTenantMetrics(registry: Registry, admission: () => TenantAdmission | undefined): TenantMetrics {
  new Gauge({
    name: 'warmline_tenant_calls_active', help: 'Calls in progress on this replica, by tenant', labelNames: ['tenant'], registers: [registry],
    collect() { this.reset(); for (const [t, n] of Object.entries(admission()?.localCalls() ?? {})) this.set({ tenant: t }, n); },
  });
  new Gauge({
    name: 'warmline_tenant_limit_store_degraded', help: '1 while tenant limits are enforced per replica (the store is unreachable)', registers: [registry],
    collect() { this.set(admission()?.degraded ? 1 : 0); },
  });
  return {
    refusals: new Counter({ name: 'warmline_tenant_refusals_total', help: 'Calls refused over a tenant limit, by tenant and reason (cps, concurrency, share)', labelNames: ['tenant', 'reason'], registers: [registry] }),
    admitted: new Counter({ name: 'warmline_tenant_calls_admitted_total', help: 'Calls admitted, by tenant', labelNames: ['tenant'], registers: [registry] }),
  };
}
