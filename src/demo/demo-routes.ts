import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallsView } from '../calls/index.js';
import type { DemoCredentials } from './credentials.js';
import type { DemoGuard } from './demo-guard.js';
import { demoBundle, DEMO_DIR } from './bundle.js';

export interface DemoRoutesOptions {
  credentials: DemoCredentials;
  guard: DemoGuard;
  did: string;
  /** The SIP WebSocket listener the page connects to. */
  ws: { protocol: 'WS' | 'WSS'; port: number };
  calls(): CallsView;
  /** The tenant a session is for: `?tenant=` names one with demo access (src/tenants); absent: no tenants. */
  tenantFor?(asked: string | undefined): { ok: true; tenant: string } | { ok: false; reason: string };
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...extra });
  res.end(body);
}
const json = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void =>
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), extra);

/** The hostname the browser used for the page, so the WebSocket goes to the same place. */
function hostOf(req: IncomingMessage): string {
  const h = req.headers.host ?? '127.0.0.1';
  const m = /^(\[[^\]]+\]|[^:]+)/.exec(h);
  return m?.[1] ?? '127.0.0.1';
}

/**
 * The demo's HTTP face, mounted on the ops server: the page and its bundle, POST /demo/session
 * (credentials), and GET /demo/call/<Call-ID>?user=… (the live transcript and turn timelines of
 * the caller's own call). Returns false for anything that is not the demo's.
 */
export function demoRoutes(o: DemoRoutesOptions): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (!path.startsWith('/demo')) return false;
    if (req.method === 'POST' && path === '/demo/session') {
      req.resume();
      const client = req.socket.remoteAddress ?? 'unknown';
      const t = o.tenantFor?.(url.searchParams.get('tenant') ?? undefined);
      if (t && !t.ok) {
        json(res, 404, { error: 'no-such-tenant', reason: t.reason });
        return true;
      }
      const c = o.credentials.issue(client, t?.tenant);
      if ('error' in c) {
        json(res, c.status, { error: c.error }, c.status === 429 ? { 'retry-after': String(c.retryAfterS) } : {});
        return true;
      }
      const host = hostOf(req);
      json(res, 200, {
        username: c.username,
        password: c.password,
        expiresAt: new Date(c.expiresAt).toISOString(),
        wsUrl: `${o.ws.protocol === 'WSS' ? 'wss' : 'ws'}://${host}:${o.ws.port}`,
        target: `sip:${o.did}@${host}`,
        challenge: o.guard.challenge(),
        ...(c.tenant !== undefined && { tenant: c.tenant }),
      });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/demo') {
      res.writeHead(302, { location: '/demo/' }).end();
      return true;
    }
    if (path === '/demo/') {
      send(res, 200, 'text/html; charset=utf-8', await readFile(new URL('index.html', DEMO_DIR)));
      return true;
    }
    if (path === '/demo/app.js') {
      send(res, 200, 'text/javascript; charset=utf-8', await demoBundle());
      return true;
    }
    const call = /^\/demo\/call\/([^/]+)$/.exec(path);
    if (call) {
      const callId = decodeURIComponent(call[1]!);
      const user = url.searchParams.get('user');
      if (!user || o.guard.placedBy(callId) !== user) {
        json(res, 404, { error: 'no such call for this user' });
        return true;
      }
      const view = o.calls();
      const snap = view.active.find((c) => c.callId === callId) ?? view.recent.find((c) => c.callId === callId);
      if (!snap) {
        json(res, 404, { error: 'no such call' });
        return true;
      }
      json(res, 200, { state: snap.state, media: snap.media, codec: snap.codec, turns: snap.turns, transcript: snap.transcript, endReason: snap.endReason, rtp: snap.rtp });
      return true;
    }
    return false;
  };
}
