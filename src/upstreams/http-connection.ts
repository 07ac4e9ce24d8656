import type { PooledConnection } from '../pools/index.js';

/** One small request's answer: status and the whole body as text (CRM answers are small JSON). */
export interface HttpExchange {
  status: number;
  body: string;
}

/**
 * A warm HTTP connection of either protocol, as a REST client (the CRM) sees it: HTTP/2
 * (`Http2Session`, node:http2) when the peer offers h2 in ALPN, HTTP/1.1 keep-alive
 * (`Http1Connection`, undici) when it does not.
 */
export interface HttpConnection extends PooledConnection {
  readonly protocol: 'h2' | 'http/1.1';
  readonly provider: string;
  readonly origin: string;
  /** One request on behalf of `leaseId`; `signal` cancels it (on HTTP/1.1 that costs the connection). */
  exchange(leaseId: string, method: string, path: string, headers: Record<string, string>, body: string | undefined, signal?: AbortSignal, limit?: number): Promise<HttpExchange>;
}
