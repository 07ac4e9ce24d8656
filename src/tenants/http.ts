import type { IncomingMessage, ServerResponse } from 'node:http';
import { WarmlineError } from '../errors.js';
import { ConfigFileError, ConfigInvalidError } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Tenants } from './tenants.js';

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** GET /api/tenants: every tenant, its limits (configured and in force) and its usage now. */
export function tenantRoutes(tenants: () => Tenants | undefined): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/api/tenants' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
    const t = tenants();
    if (!t) return false;
    json(res, 200, await t.usage());
    return true;
  };
}

export type ReloadOutcome = { ok: true; tenants: string[]; needsRestart: string[] } | { ok: false; status: 400 | 404 | 503; error: string; code?: string };

/**
 * One reload (SIGHUP or POST /api/admin/tenants/reload): the configuration is read again and its
 * tenants taken; any failure leaves the tenants in force as they were and says why.
 */
export async function reloadTenants(tenants: Tenants | undefined, load: (() => Parameters<Tenants['reload']>[0]) | undefined, log: Logger): Promise<ReloadOutcome> {
  if (!tenants || !load) return { ok: false, status: 404, error: 'this gateway was not started from a configuration it can read again' };
  try {
    const r = await tenants.reload(load());
    return { ok: true, ...r };
  } catch (err) {
    const code = err instanceof WarmlineError ? err.code : undefined;
    log.error({ err }, 'tenants NOT reloaded: the configuration in force stays');
    // A configuration problem is the caller's to fix (400); a store that did not answer is not (503).
    return { ok: false, status: err instanceof ConfigInvalidError || err instanceof ConfigFileError ? 400 : 503, error: (err as Error).message, ...(code && { code }) };
  }
}
