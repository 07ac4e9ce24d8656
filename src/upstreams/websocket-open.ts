import { WebSocket, type RawData } from 'ws';
import { UpstreamAuthError, UpstreamConnectError, excerpt } from './errors.js';

export interface WebSocketOpenOptions {
  provider: string;
  url: string;
  headers: Record<string, string>;
  /** PEM to trust (the local upstreams' self-signed certificate). */
  ca?: string | undefined;
  signal: AbortSignal;
  /** Upper bound on connect + TLS + upgrade. */
  timeoutMs?: number;
}

/**
 * Opens a WebSocket and resolves once it is open: TCP, TLS and the HTTP
 * upgrade all done, so that a lessee's first frame pays nothing. A 401/403
 * on the upgrade is a permanent UpstreamAuthError; anything else is an
 * UpstreamConnectError. The URL in errors never carries the key (keys travel
 * in headers, not query strings).
 */
export function openWebSocket(o: WebSocketOpenOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const where = { provider: o.provider, url: o.url.split('?')[0]! };
    const ws = new WebSocket(o.url, { headers: o.headers, ...(o.ca !== undefined && { ca: o.ca }), handshakeTimeout: o.timeoutMs ?? 10_000, perMessageDeflate: false });
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      o.signal.removeEventListener('abort', onAbort);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      reject(err);
    };
    const onAbort = () => fail(new UpstreamConnectError({ ...where, reason: 'aborted' }, { cause: o.signal.reason }));
    if (o.signal.aborted) return onAbort();
    o.signal.addEventListener('abort', onAbort, { once: true });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => { if (body.length < 400) body += c.toString('utf8'); });
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        fail(status === 401 || status === 403
          ? new UpstreamAuthError({ ...where, status, body: excerpt(body) })
          : new UpstreamConnectError({ ...where, reason: `HTTP ${status} on upgrade: ${excerpt(body)}` }));
      });
      res.on('error', () => fail(new UpstreamConnectError({ ...where, reason: `HTTP ${res.statusCode} on upgrade` })));
    });
    ws.once('error', (err) => fail(new UpstreamConnectError({ ...where, reason: err.message }, { cause: err })));
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      o.signal.removeEventListener('abort', onAbort);
      ws.removeAllListeners('error');
      ws.removeAllListeners('unexpected-response');
      resolve(ws);
    });
  });
}

/**
 * A received message's text. ws hands a Buffer (its default binaryType): decoded in place, where
 * `Buffer.from(buffer)` would first copy every message (a TTS audio message is ~1 KB of base64).
 */
export function messageText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return (Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8');
}
