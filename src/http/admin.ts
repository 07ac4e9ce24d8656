import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { readBodyText, sendJson } from './json-body.js';

export type FloorResult = { ok: true; pools: number } | { ok: false; status: 400 | 404; reason: string };

/** The admin actions the gateway supplies to the ops server (small, so tests can supply them too). */
export interface OpsAdmin {
  /** Hangs up one active call; false when no such call is active. */
  hangup(callId: string): boolean;
  /** Starts draining this replica (as SIGTERM does); returns at once. */
  drain(): void;
  /** Sets the warm floor of every pool of one upstream (asr, tts, llm, crm) at run time. */
  setPoolFloor(upstream: string, min: number): FloorResult;
  /** Reads the configuration again and takes its tenants (src/tenants); absent: no tenants here. */
  reloadTenants?(): Promise<{ ok: true; tenants: string[]; needsRestart: string[] } | { ok: false; status: number; error: string; code?: string }>;
}

const MAX_BODY = 4096;

const send = sendJson;

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBodyText(req, MAX_BODY);
  return text === '' ? {} : (JSON.parse(text) as unknown);
}

/**
 * POST /api/admin/calls/{id}/hangup, /api/admin/drain, /api/admin/pools/{upstream}/floor {"min": n}.
 * The caller is already authenticated; every action is logged with who asked and what, whatever
 * its outcome. Returns false when the path is not an admin route.
 */
export async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string, who: string, admin: OpsAdmin | undefined, log: Logger): Promise<boolean> {
  if (!path.startsWith('/api/admin/')) return false;
  if (req.method !== 'POST') { send(res, 405, { error: 'admin actions are POST' }); return true; }
  if (!admin) { send(res, 404, { error: 'no admin actions on this server' }); return true; }
  let m: RegExpExecArray | null;
  if ((m = /^\/api\/admin\/calls\/([^/]{1,200})\/hangup$/.exec(path))) {
    const callId = decodeURIComponent(m[1]!);
    const done = admin.hangup(callId);
    log.info({ who, action: 'hangup', callId, outcome: done ? 'hung up' : 'no such call' }, 'admin action');
    send(res, done ? 200 : 404, done ? { ok: true, callId } : { error: `no active call ${callId}` });
    return true;
  }
  if (path === '/api/admin/drain') {
    log.warn({ who, action: 'drain' }, 'admin action');
    admin.drain();
    send(res, 202, { ok: true, draining: true });
    return true;
  }
  if ((m = /^\/api\/admin\/pools\/([a-z]+)\/floor$/.exec(path))) {
    const upstream = m[1]!;
    let body: unknown;
    try { body = await readJson(req); } catch (err) {
      log.info({ who, action: 'pool-floor', upstream, outcome: 'bad body' }, 'admin action');
      send(res, 400, { error: `body must be JSON {"min": n}: ${(err as Error).message}` });
      return true;
    }
    const min = (body as { min?: unknown }).min;
    if (typeof min !== 'number' || !Number.isInteger(min) || min < 0) {
      log.info({ who, action: 'pool-floor', upstream, outcome: 'bad min' }, 'admin action');
      send(res, 400, { error: 'min must be an integer >= 0' });
      return true;
    }
    const r = admin.setPoolFloor(upstream, min);
    log.info({ who, action: 'pool-floor', upstream, min, outcome: r.ok ? `${r.pools} pool(s) resized` : r.reason }, 'admin action');
    if (r.ok) send(res, 200, { ok: true, upstream, min, pools: r.pools });
    else send(res, r.status, { error: r.reason });
    return true;
  }
  if (path === '/api/admin/tenants/reload' && admin.reloadTenants) {
    const r = await admin.reloadTenants();
    log.warn({ who, action: 'tenants-reload', outcome: r.ok ? `tenants: ${r.tenants.join(', ') || 'none'}` : r.error }, 'admin action');
    if (r.ok) send(res, 200, r);
    else send(res, r.status, { error: r.error, ...(r.code && { code: r.code }) });
    return true;
  }
  log.info({ who, action: 'unknown', path }, 'admin action');
  send(res, 404, { error: `no admin action ${path}` });
  return true;
}
