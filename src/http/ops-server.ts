import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from '../log.js';

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
  /** Extra routes (the demo page, static files): return true when handled. */
  extra?(req: IncomingMessage, res: ServerResponse): boolean | Promise<boolean>;
}

export interface OpsServer {
  readonly url: string;
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
 * then), /api/pools and /api/calls as JSON.
 */
export async function startOpsServer(host: string, port: number, sources: OpsSources, log: Logger): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'ops request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
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

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
