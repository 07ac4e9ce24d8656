import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Analytics, LiveMessage } from '../analytics/index.js';
import type { CallsView, CallSnapshot } from '../calls/index.js';
import { dashboardAssets } from './bundle.js';

export interface DashboardSources {
  analytics: Analytics;
  calls(): CallsView;
}

/** A subscriber this far behind is a stalled browser tab: it is cut off rather than buffered for. */
const MAX_BUFFERED = 1 << 20;
const HEARTBEAT_MS = 15_000;

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json; charset=utf-8', JSON.stringify(body));

/** What the waterfall needs of a call: no caller speech (turn text) leaves the process. */
function brief(c: CallSnapshot) {
  return {
    id: c.id, did: c.did, caller: c.caller, agent: c.agent, tenant: c.tenant ?? null, region: c.region ?? null, failedOverFrom: c.failedOverFrom ?? null, state: c.state, startedAt: c.startedAt, durationMs: c.durationMs,
    endReason: c.endReason ?? null, codec: c.codec ?? null,
    turns: c.turns.map((t) => ({ turn: t.turn, outcome: t.outcome, marks: t.marks, acquireMs: t.acquireMs, connectionsOpened: t.connectionsOpened })),
  };
}

/**
 * The dashboard's routes, for the ops server's `extra` hook: the page and its
 * bundle under /dashboard/, its data under /api/analytics/ (so the same
 * operations credentials that guard /api/* guard the data):
 * - GET /api/analytics/live: SSE, first the last 15 minutes, then each sample;
 * - GET /api/analytics/calls: calls in progress and recent ones, with their turns (`?tenant=` keeps one tenant's).
 */
export function dashboardRoutes(s: DashboardSources): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const path = (req.url ?? '/').split('?')[0]!;
    switch (path) {
      case '/dashboard':
        res.writeHead(302, { location: '/dashboard/' });
        res.end();
        return true;
      case '/dashboard/':
        send(res, 200, 'text/html; charset=utf-8', (await dashboardAssets()).html);
        return true;
      case '/dashboard/app.js':
        send(res, 200, 'text/javascript; charset=utf-8', (await dashboardAssets()).js);
        return true;
      case '/dashboard/app.css':
        send(res, 200, 'text/css; charset=utf-8', (await dashboardAssets()).css);
        return true;
      case '/api/analytics/calls': {
        const v = s.calls();
        const tenant = new URL(req.url ?? '/', 'http://x').searchParams.get('tenant');
        const keep = (c: CallSnapshot) => !tenant || (c.tenant ?? 'default') === tenant;
        json(res, 200, { active: v.active.filter(keep).map(brief), recent: v.recent.filter(keep).map(brief) });
        return true;
      }
      case '/api/analytics/live':
        live(s.analytics, req, res);
        return true;
      default:
        return false;
    }
  };
}

function live(analytics: Analytics, req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  res.on('error', () => undefined);
  const w = analytics.writer.stats();
  const hello = { ...analytics.recorder.live.history(), store: { kind: analytics.store.kind, where: analytics.store.where }, rows: w };
  res.write(`event: history\ndata: ${JSON.stringify(hello)}\n\n`);
  const stop = analytics.recorder.live.subscribe((m: LiveMessage) => {
    if (res.writableLength > MAX_BUFFERED) {
      res.destroy();
      return;
    }
    res.write(`event: ${m.type}\ndata: ${JSON.stringify(m.type === 'sample' ? m.sample : m.type === 'event' ? m.event : {})}\n\n`);
  });
  const beat = setInterval(() => res.write(': keepalive\n\n'), HEARTBEAT_MS);
  beat.unref();
  const end = () => {
    clearInterval(beat);
    stop();
  };
  req.on('close', end);
  res.on('close', end);
}

type Routes = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

/** Several route handlers as one `extra` hook, tried in order until one handles the request. */
export function chainRoutes(list: ReadonlyArray<Routes | undefined>): Routes {
  const routes = list.filter((r): r is Routes => r !== undefined);
  return async (req, res) => {
    for (const r of routes) if (await r(req, res)) return true;
    return false;
  };
}
