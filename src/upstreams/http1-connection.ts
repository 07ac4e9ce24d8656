import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { Client } from 'undici';
import { UpstreamClosedError, UpstreamConnectError } from './errors.js';
import type { HttpConnection, HttpExchange } from './http-connection.js';

export interface Http1ConnectionOptions {
  provider: string;
  /** `http(s)://host[:port]`. */
  origin: string;
  /** Already connected (TCP, and TLS for https with ALPN http/1.1): the pool opened it ahead of use. */
  socket: Socket;
}

/**
 * One warm HTTP/1.1 keep-alive connection, for a peer that does not offer HTTP/2 (many CRMs).
 * undici's Client speaks the protocol over a socket the pool opened ahead of use: its connector
 * hands over that socket once and refuses to reconnect, so a connection that dies leaves the pool
 * (which replaces it in the background) instead of reconnecting inside a call's request.
 *
 * One request at a time (capacity 1, no pipelining: a slow answer must not hold the next one).
 * HTTP/1.1 has no PING: keepalive() is an `OPTIONS /` request (not HEAD: undici closes the
 * connection after a HEAD), which also resets the server's keep-alive timer — keep
 * `pools.crm.keepaliveMs` below the server's timeout (Node's default is 5 s).
 */
export class Http1Connection extends EventEmitter<{ close: [cause?: Error] }> implements HttpConnection {
  readonly id = `h1-${randomUUID().slice(0, 8)}`;
  readonly protocol = 'http/1.1' as const;
  readonly capacity = 1;
  readonly provider: string;
  readonly origin: string;
  readonly #client: Client;
  readonly #socket: Socket;
  readonly #inFlight = new Map<string, Set<AbortController>>();
  #closing = false;
  #gone = false;

  constructor(o: Http1ConnectionOptions) {
    super();
    this.provider = o.provider;
    this.origin = o.origin;
    this.#socket = o.socket;
    let handedOver = false;
    this.#client = new Client(o.origin, {
      connect: (_options, callback) => {
        // Answered on a later turn: undici stalls (the request is never written) when its
        // connector calls back synchronously.
        if (handedOver || o.socket.destroyed) {
          setImmediate(() => callback(new UpstreamClosedError({ provider: o.provider, url: o.origin, code: 0, reason: 'the warm connection is gone' }), null));
          return;
        }
        handedOver = true;
        setImmediate(() => callback(null, o.socket));
      },
      pipelining: 1,
      // The pool decides when a warm connection closes (maxAge, shrink); a server's Keep-Alive
      // hint still shortens this, and then the connection leaves the pool when undici closes it.
      keepAliveTimeout: 600_000,
      keepAliveMaxTimeout: 600_000,
      // undici stops using a connection this long before the server's announced Keep-Alive
      // timeout (default 2 s, which gives up at once on a 1-2 s server timeout): 500 ms still
      // keeps a request from crossing the server's FIN on a 100+ ms round trip.
      keepAliveTimeoutThreshold: 500,
    });
    // Until undici takes the socket (at the first request) nobody else listens to it.
    o.socket.on('error', (err) => this.#end(err));
    o.socket.once('close', () => this.#end(this.#closing ? undefined : new UpstreamClosedError({ provider: this.provider, url: this.origin, code: 0, reason: 'connection closed' })));
    this.#client.on('disconnect', (_origin, _targets, err) => this.#end(this.#closing ? undefined : err));
  }

  get usable(): boolean {
    return !this.#gone && !this.#closing && !this.#socket.destroyed && !this.#client.destroyed && !this.#client.closed;
  }

  async exchange(leaseId: string, method: string, path: string, headers: Record<string, string>, body: string | undefined, signal?: AbortSignal, limit = 1_000_000): Promise<HttpExchange> {
    if (!this.usable) throw new UpstreamClosedError({ provider: this.provider, url: this.origin, code: 0, reason: 'connection not open' });
    const abort = new AbortController();
    const onAbort = () => abort.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let set = this.#inFlight.get(leaseId);
    if (!set) this.#inFlight.set(leaseId, (set = new Set()));
    set.add(abort);
    try {
      const res = await this.#client.request({ method: method as 'GET', path, headers, body: body ?? null, signal: abort.signal });
      const text = await res.body.text();
      return { status: res.statusCode, body: text.length > limit ? text.slice(0, limit) : text };
    } catch (err) {
      throw new UpstreamConnectError({ provider: this.provider, url: `${this.origin}${path}`, reason: (err as Error).message }, { cause: err });
    } finally {
      set.delete(abort);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async keepalive(): Promise<void> {
    // Any answer, whatever its status, proves the connection and resets the server's idle timer.
    await this.exchange('keepalive', 'OPTIONS', '/', {}, undefined);
  }

  /** A request still running when its lease ends is aborted, and on HTTP/1.1 that ends the connection. */
  async reset(leaseId: string): Promise<boolean> {
    const set = this.#inFlight.get(leaseId);
    this.#inFlight.delete(leaseId);
    if (set && set.size > 0) {
      for (const a of set) a.abort();
      return false;
    }
    return this.usable;
  }

  async close(): Promise<void> {
    if (this.#gone) return;
    this.#closing = true;
    await this.#client.close().catch(() => undefined);
    this.#socket.destroy();
    this.#end();
  }

  destroy(reason?: Error): void {
    if (this.#gone) return;
    this.#closing = reason === undefined;
    this.#client.destroy(reason ?? null).catch(() => undefined);
    this.#socket.destroy();
    this.#end(reason);
  }

  #end(cause?: Error): void {
    if (this.#gone) return;
    this.#gone = true;
    this.emit('close', cause);
  }
}
