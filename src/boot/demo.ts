import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Peer, Refusal, SipRequest, Transport } from '../../sip/index.js';
import type { CallManager } from '../calls/index.js';
import type { DemoConfig, WarmlineConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { DemoCredentials, DemoGuard, demoRoutes } from '../demo/index.js';

export interface Demo {
  guard: DemoGuard;
  routes: (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;
  /** The tenant a browser call's credential names (src/tenants), by Call-ID; undefined for other calls. */
  tenantOf(callId: string): string | undefined;
}

/** Wires the browser demo: credentials, the SIP edge for WebSocket callers, and the page's routes. */
export function startDemo(config: DemoConfig, o: {
  transports: readonly Transport[];
  calls: CallManager;
  edge: (req: SipRequest, source: Peer) => Refusal | undefined;
  log: Logger;
  tenantFor?: (asked: string | undefined) => { ok: true; tenant: string } | { ok: false; reason: string };
}): Demo {
  const ws = o.transports.find((t) => t.protocol === 'WS' || t.protocol === 'WSS')!;
  const activeCallIds = () => o.calls.view().active.map((c) => c.callId);
  let guard: DemoGuard | undefined;
  const credentials = new DemoCredentials({
    ttlMs: config.credentialTtlS * 1000,
    perMinute: config.sessionsPerMinute,
    maxConcurrentCalls: config.maxConcurrentCalls,
    activeCalls: () => guard!.activeCalls(),
  });
  guard = new DemoGuard({
    credentials,
    did: config.did,
    maxConcurrentCalls: config.maxConcurrentCalls,
    activeCallIds,
    edge: o.edge,
    log: o.log.child({ component: 'demo' }),
  });
  const routes = demoRoutes({
    credentials,
    guard,
    did: config.did,
    ws: { protocol: ws.protocol as 'WS' | 'WSS', port: ws.local.port },
    calls: () => o.calls.view(),
    ...(o.tenantFor && { tenantFor: o.tenantFor }),
  });
  const tenantOf = (callId: string) => {
    const user = guard.placedBy(callId);
    return user === undefined ? undefined : credentials.tenantOf(user);
  };
  return { guard, routes, tenantOf };
}

const LOOPBACK = /^(127\.|::1$|\[::1\]$|localhost$)/;

/**
 * Says at start what would keep a browser beyond this machine from calling: a page over plain
 * HTTP gets no microphone (only https:// and loopback are secure contexts), and an https:// page
 * may not open a plain ws:// SIP WebSocket (mixed content).
 */
export function warnInsecureDemo(config: WarmlineConfig, log: Logger): void {
  if (!config.demo.enabled) return;
  const https = config.server.certFile !== '';
  if (!https && !LOOPBACK.test(config.server.host)) {
    log.warn({ host: config.server.host }, 'the demo page is served over plain HTTP beyond loopback: browsers there refuse the microphone; set server.certFile and server.keyFile');
  }
  if (https && config.sip.ws.enabled && config.sip.ws.certFile === '') {
    log.warn('the demo page is served over HTTPS but sip.ws is plain WS: browsers block ws:// from an https:// page; set sip.ws.certFile and sip.ws.keyFile');
  }
}
