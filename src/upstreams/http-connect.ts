import net from 'node:net';
import tls from 'node:tls';
import { UpstreamConnectError, UpstreamTimeoutError } from './errors.js';
import { Http1Connection } from './http1-connection.js';
import type { HttpConnection } from './http-connection.js';
import { Http2Session } from './http2-session.js';

export interface HttpConnectOptions {
  provider: string;
  baseUrl: string;
  ca?: string | undefined;
  /** Upper bound of concurrent streams on an HTTP/2 session. */
  maxStreams: number;
  connectTimeoutMs?: number;
}

/**
 * Opens one warm connection to a REST peer, in the protocol the peer offers: TLS with ALPN
 * [h2, http/1.1] → an HTTP/2 session (node:http2) when the peer picks h2, an HTTP/1.1 keep-alive
 * connection (undici) when it picks http/1.1 or offers no ALPN; `http://` → HTTP/1.1 over TCP.
 * Either way TCP and TLS are done before the pool calls the connection warm.
 */
export async function connectHttp(o: HttpConnectOptions, signal: AbortSignal): Promise<HttpConnection> {
  const url = new URL(o.baseUrl);
  const origin = url.origin;
  const where = { provider: o.provider, url: origin };
  const timeoutMs = o.connectTimeoutMs ?? 10_000;
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s: net.Socket = secure
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['h2', 'http/1.1'], ...(o.ca !== undefined && { ca: o.ca }) })
      : net.connect({ host, port });
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      s.off('error', onError);
      if (err) { s.destroy(); reject(err); } else resolve(s);
    };
    const timer = setTimeout(() => finish(new UpstreamTimeoutError({ ...where, what: 'connect', timeoutMs })), timeoutMs);
    const onAbort = () => finish(new UpstreamConnectError({ ...where, reason: 'aborted' }));
    const onError = (err: Error) => finish(new UpstreamConnectError({ ...where, reason: err.message }, { cause: err }));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    s.once('error', onError);
    s.once(secure ? 'secureConnect' : 'connect', () => finish());
  });
  if (secure && (socket as tls.TLSSocket).alpnProtocol === 'h2') {
    return Http2Session.openSession({ provider: o.provider, origin, maxStreams: o.maxStreams, connectTimeoutMs: timeoutMs, socket }, signal);
  }
  return new Http1Connection({ provider: o.provider, origin, socket });
}
