import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';
import { OpsAuth, deny, isProbePath, type ProbeAccess, type OpsToken } from './auth.js';
import { handleAdmin, type OpsAdmin } from './admin.js';
import { handleTransfer, type TransferApi } from './transfer-api.js';

/** What the ops endpoints read; the gateway supplies it, tests can too. */
export interface OpsSources {
  readonly registry: Registry;
  /** /readyz: true only when every pool reached its warm floor (and every registration is up). */
  readiness(): { ready: boolean; reasons: string[] };
  /** /api/pools */
  pools(): unknown;
  /** /api/calls */
  calls(): unknown;
  /** /api/replica: lease gates (provider caps) and the carrier registrations this replica owns. */
  replica?(): unknown;
  /** Admin actions (POST /api/admin/…): hang up a call, drain, resize a pool floor. */
  admin?: OpsAdmin;
  /** POST /api/calls/{id}/transfer (transfer-api.ts). */
  transfer?: TransferApi;
  /**
   * Extra routes (the demo page, static files, the dashboard): return true when handled.
   * Called after the auth check, which covers /api/*, /dashboard* and every non-GET method.
   */
  extra?(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
}

/** Who may use the ops server (the `ops.*` config keys). */
export interface OpsAccess {
  tokens: readonly OpsToken[];
  probes: ProbeAccess;
  /** > 0: /healthz, /readyz and /metrics also on their own listener (same host), open to anyone who reaches it. */
  probesPort: number;
}

/** PEM certificate chain and key: the ops server answers HTTPS (the probes' own listener stays HTTP). */
export interface OpsTls {
  cert: string | Buffer;
  key: string | Buffer;
}

export interface OpsServer {
  readonly url: string;
  /** The probes' own listener, when ops.probesPort is set. */
  readonly probesUrl: string | undefined;
  /** The check every protected route goes through; routes served elsewhere can reuse it. */
  readonly auth: OpsAuth;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * The operations surface: /metrics (Prometheus), /healthz (the process
 * answers), /readyz (warm and registered: a load balancer sends calls only
 * then), /api/pools and /api/calls as JSON, admin actions under /api/admin/.
 * Every request passes the OpsAuth check first (see auth.ts for who may reach what).
 */
export async function startOpsServer(host: string, port: number, sources: OpsSources, log: Logger, access: OpsAccess = { tokens: [], probes: 'loopback', probesPort: 0 }, tls?: OpsTls): Promise<OpsServer> {
  const auth = new OpsAuth(access);
  const handler = (probesOnly: boolean) => (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, probesOnly).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'ops request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handler(false)) : createServer(handler(false));
  const probes: Server | undefined = access.probesPort > 0 ? createServer(handler(true)) : undefined;
  let deniedLogged = 0;

  async function handle(req: IncomingMessage, res: ServerResponse, probesOnly: boolean): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (probesOnly) {
      if (!isProbePath(path)) { json(res, 404, { error: `no route ${path} (this listener serves the probes only)` }); return; }
    } else {
      const d = auth.decide(req, path);
      if (!d.ok) {
        // One line per second at most: a scanner must not be able to flood the log.
        const now = Date.now();
        if (now - deniedLogged >= 1000) { deniedLogged = now; log.warn({ from: req.socket.remoteAddress, method: req.method, path, status: d.status }, 'ops request refused'); }
        deny(res, d);
        return;
      }
      if (await handleAdmin(req, res, path, d.who, sources.admin, log)) return;
      if (await handleTransfer(req, res, path, d.who, sources.transfer, log)) return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (sources.extra && (await sources.extra(req, res))) return;
      json(res, 405, { error: `method ${req.method} not allowed` });
      return;
    }
    switch (path) {
      case '/metrics': {
        const text = await sources.registry.metrics();
        res.writeHead(200, { 'content-type': sources.registry.contentType });
        res.end(text);
        return;
      }
      case '/healthz':
        json(res, 200, { ok: true });
        return;
      case '/readyz': {
        const r = sources.readiness();
        json(res, r.ready ? 200 : 503, r);
        return;
      }
      case '/api/pools':
        json(res, 200, sources.pools());
        return;
      case '/api/calls':
        json(res, 200, sources.calls());
        return;
      case '/api/replica':
        if (sources.replica) {
          json(res, 200, sources.replica());
          return;
        }
        json(res, 404, { error: `no route ${path}` });
        return;
      default:
        if (sources.extra && (await sources.extra(req, res))) return;
        json(res, 404, { error: `no route ${path}` });
    }
  }

  const url = await listen(server, port, host, tls ? 'https' : 'http');
  let probesUrl: string | undefined;
  try {
    if (probes) probesUrl = await listen(probes, access.probesPort, host, 'http');
  } catch (err) {
    await stop(server);
    throw err;
  }
  return {
    url,
    probesUrl,
    auth,
    close: async () => { await Promise.all([stop(server), probes && stop(probes)]); },
  };
}

async function listen(server: Server, port: number, host: string, scheme: 'http' | 'https'): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return `${scheme}://${shownHost}:${addr.port}`;
}

function stop(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) { resolve(); return; }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
