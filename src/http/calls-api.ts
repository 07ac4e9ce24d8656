import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { readBodyText, sendJson } from './json-body.js';

/** An outbound call as the API sees it (src/calls' OutboundRecord fits). */
export interface OutboundCallHandle {
  readonly id: string;
  readonly state: string;
  view(): unknown;
}

/** What the calls API needs (src/calls' Dialer fits). */
export interface CallsApiSource {
  dial(req: { to: string; from?: string; trunk: string; agent?: string; headers?: Record<string, string> }): Promise<OutboundCallHandle>;
  get(id: string): OutboundCallHandle | undefined;
  hangup(id: string): Promise<boolean>;
}

const MAX_BODY = 8192;
const FIELDS = new Set(['to', 'from', 'trunk', 'agent', 'headers']);

const send = sendJson;
const readBody = (req: IncomingMessage) => readBodyText(req, MAX_BODY);

/** The error codes of src/calls/errors.ts, matched by code so this module needs nothing of src/calls. */
function errorStatus(err: unknown): { status: number; code: string; message: string; retryAfter?: string } | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === 'WL_ERR_DIAL_INVALID') return { status: 400, code, message };
  if (code === 'WL_ERR_OVERLOADED') return { status: 503, code, message, retryAfter: String((err as { context?: { retryAfterS?: number } }).context?.retryAfterS ?? 1) };
  if (code === 'WL_ERR_DIAL_REFUSED') {
    const why = (err as { context?: { why?: string } }).context?.why;
    const after = String((err as { context?: { retryAfterS?: number } }).context?.retryAfterS ?? 1);
    return why === 'trunk-rate' || why === 'tenant-rate' ? { status: 429, code, message, retryAfter: after } : { status: 503, code, message, retryAfter: after };
  }
  return undefined;
}

/**
 * Outbound calls over the ops server (its bearer-token check has already passed: /api/* and every
 * non-GET method need ops credentials):
 *
 * - `POST /api/calls` {to, from?, trunk, agent?, headers?} → 201 with the call's state
 * - `GET /api/calls/:id` → its state (dialing, ringing, early, answered, ended), reason, SIP status
 * - `DELETE /api/calls/:id` → hangs up: CANCEL before the answer, BYE after
 *
 * `GET /api/calls` (every call in progress, both directions) stays the ops server's own.
 */
export function callsApiRoutes(source: CallsApiSource, log: Logger): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/api/calls' && req.method === 'POST') {
      await create(req, res);
      return true;
    }
    const m = /^\/api\/calls\/([0-9a-f-]{36})$/.exec(path);
    if (!m) return false;
    const id = m[1]!;
    if (req.method === 'GET' || req.method === 'HEAD') {
      const call = source.get(id);
      if (call) send(res, 200, call.view());
      else send(res, 404, { error: `no outbound call ${id}` });
      return true;
    }
    if (req.method === 'DELETE') {
      const call = source.get(id);
      if (!call) { send(res, 404, { error: `no outbound call ${id}` }); return true; }
      const hungUp = source.hangup(id);
      // A CANCEL waits for the callee's provisional response (RFC 3261 §9.1): answer with the state
      // reached within a moment, the rest shows in GET.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([hungUp.catch(() => false), new Promise<void>((resolve) => { timer = setTimeout(resolve, 2000); })]);
      clearTimeout(timer);
      log.info({ outbound: id, from: req.socket.remoteAddress, state: call.state }, 'outbound call hung up over the API');
      send(res, 200, call.view());
      return true;
    }
    send(res, 405, { error: `method ${req.method} not allowed on ${path}` }, { allow: 'GET, DELETE' });
    return true;
  };

  async function create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      send(res, 415, { error: 'the body must be JSON (Content-Type: application/json)' });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req)) as unknown;
    } catch (err) {
      send(res, 400, { error: `the body must be a JSON object: ${(err as Error).message}` });
      return;
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      send(res, 400, { error: 'the body must be a JSON object {to, trunk, from?, agent?, headers?}' });
      return;
    }
    const b = body as Record<string, unknown>;
    const unknown = Object.keys(b).filter((k) => !FIELDS.has(k));
    if (unknown.length) {
      send(res, 400, { error: `unknown field(s) ${unknown.join(', ')}: the body takes to, trunk, from, agent, headers` });
      return;
    }
    for (const k of ['to', 'trunk'] as const) {
      if (typeof b[k] !== 'string' || b[k] === '') { send(res, 400, { error: `'${k}' is required (a string)` }); return; }
    }
    for (const k of ['from', 'agent'] as const) {
      if (b[k] !== undefined && typeof b[k] !== 'string') { send(res, 400, { error: `'${k}' must be a string` }); return; }
    }
    try {
      const call = await source.dial(b as { to: string; trunk: string; from?: string; agent?: string; headers?: Record<string, string> });
      log.info({ outbound: call.id, trunk: b.trunk, from: req.socket.remoteAddress }, 'outbound call placed over the API');
      send(res, 201, call.view(), { location: `/api/calls/${call.id}` });
    } catch (err) {
      const e = errorStatus(err);
      if (!e) throw err;
      send(res, e.status, { error: e.message, code: e.code }, e.retryAfter ? { 'retry-after': e.retryAfter } : {});
    }
  }
}
