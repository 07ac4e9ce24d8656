import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import { UpstreamClosedError, UpstreamConnectError, UpstreamHttpError, UpstreamTimeoutError, excerpt } from './errors.js';
import type { HttpConnection, HttpExchange } from './http-connection.js';

/**
 * One warm HTTP/2 session (TCP + TLS + SETTINGS exchanged before any request),
 * shared by many concurrent requests up to the peer's MAX_CONCURRENT_STREAMS.
 *
 * Why node:http2 and not undici for HTTP/2 (measured in bench:pools, see
 * docs/architecture.md): a pool must open a session ahead of use, size it from
 * the peer's MAX_CONCURRENT_STREAMS, PING it when the pool says so with a
 * timeout, and cancel one lease's streams without touching the others. undici
 * (7.x, `allowH2`) connects on the first request, PINGs only on its own
 * interval, and hides the session. undici carries HTTP/1.1 peers instead
 * (http1-connection.ts).
 */
export interface Http2SessionOptions {
  provider: string;
  /** `https://host[:port]`. */
  origin: string;
  ca?: string | undefined;
  /** Upper bound on concurrent streams, whatever the peer allows. */
  maxStreams: number;
  connectTimeoutMs?: number;
  /** A TLS socket that already negotiated h2 in ALPN (http-connect.ts); otherwise the session connects itself. */
  socket?: Socket;
}

export interface Http2Response {
  status: number;
  headers: IncomingHttpHeaders;
  stream: ClientHttp2Stream;
}

export interface Http2SessionEvents {
  close: [cause?: Error];
}

export class Http2Session extends EventEmitter<Http2SessionEvents> implements HttpConnection {
  readonly id = `h2-${randomUUID().slice(0, 8)}`;
  readonly protocol = 'h2' as const;
  readonly provider: string;
  readonly origin: string;
  readonly #session: ClientHttp2Session;
  readonly #streams = new Map<string, Set<ClientHttp2Stream>>();
  #capacity: number;
  #closing = false;
  #gone = false;

  protected constructor(session: ClientHttp2Session, o: Http2SessionOptions) {
    super();
    this.#session = session;
    this.provider = o.provider;
    this.origin = o.origin;
    const peerMax = session.remoteSettings.maxConcurrentStreams ?? o.maxStreams;
    this.#capacity = Math.max(1, Math.min(o.maxStreams, peerMax));
    session.on('remoteSettings', (s) => {
      if (s.maxConcurrentStreams !== undefined) this.#capacity = Math.max(1, Math.min(o.maxStreams, s.maxConcurrentStreams));
    });
    session.on('goaway', (code) => {
      // The peer will take no new streams: leave the pool; streams in flight finish.
      if (!this.#closing) this.#end(new UpstreamClosedError({ provider: this.provider, url: this.origin, code, reason: 'GOAWAY' }));
    });
    session.on('close', () => this.#end(this.#closing ? undefined : new UpstreamClosedError({ provider: this.provider, url: this.origin, code: 0, reason: 'session closed' })));
    session.on('error', (err) => this.#end(err));
  }

  /** A plain session (the CRM's REST calls need nothing more), warm once the peer's SETTINGS arrived. */
  static async openSession(o: Http2SessionOptions, signal: AbortSignal): Promise<Http2Session> {
    return new Http2Session(await Http2Session.connectSession(o, signal), o);
  }

  /** Opens, handshakes and waits for the peer's SETTINGS. */
  protected static async connectSession(o: Http2SessionOptions, signal: AbortSignal): Promise<ClientHttp2Session> {
    const where = { provider: o.provider, url: o.origin };
    return new Promise((resolve, reject) => {
      const socket = o.socket;
      const session = connect(o.origin, socket ? { createConnection: () => socket } : { ...(o.ca !== undefined && { ca: o.ca }) });
      let done = false;
      const timer = setTimeout(() => fail(new UpstreamTimeoutError({ ...where, what: 'connect', timeoutMs: o.connectTimeoutMs ?? 10_000 })), o.connectTimeoutMs ?? 10_000);
      const fail = (err: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        session.destroy();
        reject(err);
      };
      const onAbort = () => fail(new UpstreamConnectError({ ...where, reason: 'aborted' }));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      session.once('error', (err) => fail(new UpstreamConnectError({ ...where, reason: err.message }, { cause: err })));
      session.once('remoteSettings', () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        session.removeAllListeners('error');
        resolve(session);
      });
    });
  }

  get capacity(): number {
    return this.#capacity;
  }

  get usable(): boolean {
    return !this.#gone && !this.#closing && !this.#session.closed && !this.#session.destroyed;
  }

  keepalive(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.usable) return reject(new UpstreamClosedError({ provider: this.provider, url: this.origin, code: 0, reason: 'not open' }));
      const ok = this.#session.ping((err) => (err ? reject(err) : resolve()));
      if (!ok) reject(new UpstreamClosedError({ provider: this.provider, url: this.origin, code: 0, reason: 'too many PINGs in flight' }));
    });
  }

  /**
   * One request on this session, on behalf of `leaseId`. Resolves with the
   * response headers; the body is `stream`. `signal` cancels the stream
   * (RST_STREAM CANCEL) and leaves the session for the next request.
   */
  request(leaseId: string, method: string, path: string, headers: OutgoingHttpHeaders, body: string | undefined, signal?: AbortSignal): Promise<Http2Response> {
    return new Promise((resolve, reject) => {
      if (!this.usable) return reject(new UpstreamClosedError({ provider: this.provider, url: this.origin, code: 0, reason: 'session not open' }));
      const stream = this.#session.request({ ':method': method, ':path': path, ...headers }, { endStream: body === undefined });
      let set = this.#streams.get(leaseId);
      if (!set) this.#streams.set(leaseId, (set = new Set()));
      set.add(stream);
      const onAbort = () => stream.close(constants.NGHTTP2_CANCEL);
      signal?.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => {
        set.delete(stream);
        signal?.removeEventListener('abort', onAbort);
      });
      stream.once('error', (err) => reject(new UpstreamConnectError({ provider: this.provider, url: `${this.origin}${path}`, reason: err.message }, { cause: err })));
      stream.once('response', (h) => resolve({ status: Number(h[':status']), headers: h, stream }));
      // Cancelled (or reset) before any response: the caller must not wait forever.
      stream.once('close', () => reject(new UpstreamClosedError({ provider: this.provider, url: `${this.origin}${path}`, code: stream.rstCode ?? 0, reason: 'stream closed before a response' })));
      if (body !== undefined) stream.end(body);
    });
  }

  /** One request and its whole (small) body: the REST client's view (HttpConnection). */
  async exchange(leaseId: string, method: string, path: string, headers: Record<string, string>, body: string | undefined, signal?: AbortSignal, limit?: number): Promise<HttpExchange> {
    const res = await this.request(leaseId, method, path, headers, body, signal);
    return { status: res.status, body: await Http2Session.text(res.stream, limit) };
  }

  /** Reads a whole (small) response body as text. */
  static async text(stream: ClientHttp2Stream, limit = 1_000_000): Promise<string> {
    let out = '';
    stream.setEncoding('utf8');
    for await (const chunk of stream) {
      out += chunk as string;
      if (out.length > limit) {
        stream.close(constants.NGHTTP2_CANCEL);
        break;
      }
    }
    return out;
  }

  /** A typed error for a non-2xx answer, with the body's beginning. */
  async httpError(res: Http2Response, path: string): Promise<Error> {
    const body = await Http2Session.text(res.stream, 2000).catch(() => '');
    return new UpstreamHttpError({ provider: this.provider, url: `${this.origin}${path}`, status: res.status, body: excerpt(body) });
  }

  /** Cancels whatever a finished lease left running; the session itself stays. */
  async reset(leaseId: string): Promise<boolean> {
    const set = this.#streams.get(leaseId);
    this.#streams.delete(leaseId);
    if (set) for (const s of set) if (!s.closed) s.close(constants.NGHTTP2_CANCEL);
    return this.usable;
  }

  async close(): Promise<void> {
    if (this.#gone) return;
    this.#closing = true;
    await new Promise<void>((resolve) => {
      this.#session.close(() => resolve());
      setTimeout(() => { this.#session.destroy(); resolve(); }, 2000).unref();
    });
    this.#end();
  }

  destroy(reason?: Error): void {
    if (this.#gone) return;
    this.#closing = reason === undefined;
    this.#session.destroy();
    this.#end(reason);
  }

  #end(cause?: Error): void {
    if (this.#gone) return;
    this.#gone = true;
    this.emit('close', cause);
  }
}
