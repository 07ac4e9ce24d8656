import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Server as TlsServer } from 'node:tls';
import type { Certificate } from './tls-certificate.js';
import { Chaos } from './chaos.js';

/** What every local server is started with. */
export interface LocalServerOptions {
  host: string;
  port: number;
  apiKey: string;
  certificate: Certificate;
  handshakeDelayMs: number;
  firstByteDelayMs: number;
}

const STATUS_TEXT = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' } as const;

/**
 * What a client put on the wire, as the server saw it: tests record an
 * official provider client and our connector doing the same thing and
 * compare the two records.
 */
export type WireRecord =
  | { conn: number; kind: 'open'; method: string; path: string; query: Record<string, string>; headers: Record<string, string> }
  | { conn: number; kind: 'text'; data: string }
  | { conn: number; kind: 'binary'; bytes: number }
  | { conn: number; kind: 'body'; data: string }
  | { conn: number; kind: 'close'; code: number; reason: string };

/** Headers as lower-case name → value (repeated values joined), pseudo-headers left out. */
export function plainHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !k.startsWith(':')) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** Refuses a WebSocket upgrade with an HTTP status and a JSON body, as the providers do. */
export function rejectUpgrade(socket: Duplex, status: keyof typeof STATUS_TEXT, body: object): void {
  const text = JSON.stringify(body);
  socket.end(`HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`);
}

/** An HTTPS server for a WebSocket API: plain requests get 426 Upgrade Required. */
export function createWebSocketHttpsServer(certificate: Certificate, body: object): HttpsServer {
  const https = createHttpsServer({ key: certificate.key, cert: certificate.cert });
  https.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  return https;
}

/** Counters a test or benchmark reads from the server's side. */
export interface LocalServerStats {
  connectionsAccepted: number;
  /** TLS handshakes completed: every connection a client opened and readied. */
  handshakesCompleted: number;
  activeConnections: number;
  requests: number;
}

export interface LocalServer {
  readonly url: string;
  readonly stats: LocalServerStats;
  /** Destroys every open socket now (a provider dying mid-call). */
  dropConnections(): void;
  /** Provider chaos for this server (drops, stalls, 429/503, slow first byte, refusals); calm until set. */
  readonly chaos: Chaos;
  /** Starts recording what clients send (see WireRecord); returns the live record. */
  recordWire(): WireRecord[];
  /** Stops listening (connections are refused) but keeps the port. */
  pause(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
}

/**
 * Listens with a plain TCP server and hands each connection to a TLS server
 * after `handshakeDelayMs`, so that a cold connection pays the delay before
 * its TLS handshake and a warm one never does. The TLS server (https, or
 * http2's secure server) never listens itself.
 */
export class DelayedTlsListener implements LocalServer {
  readonly stats: LocalServerStats = { connectionsAccepted: 0, handshakesCompleted: 0, activeConnections: 0, requests: 0 };
  readonly chaos = new Chaos();
  readonly #net: NetServer;
  readonly #tls: TlsServer;
  readonly #sockets = new Set<Socket>();
  readonly #scheme: string;
  readonly #host: string;
  readonly #delayMs: number;
  #port = 0;
  #listening = false;
  #wire: WireRecord[] | undefined;
  #closed = false;
  #refusal: NodeJS.Timeout | undefined;
  #wireConn = 0;

  constructor(tls: TlsServer, options: { scheme: 'wss' | 'https'; host: string; port: number; handshakeDelayMs: number }) {
    this.#tls = tls;
    this.#scheme = options.scheme;
    this.#host = options.host;
    this.#port = options.port;
    this.#delayMs = options.handshakeDelayMs;
    tls.on('secureConnection', () => this.stats.handshakesCompleted++);
    // A client that gives up mid-handshake is not our error to report.
    tls.on('tlsClientError', () => {});
    this.#net = createNetServer({ pauseOnConnect: true }, (socket) => this.#accept(socket));
    this.chaos.attach({
      dropOne: () => {
        const all = [...this.#sockets];
        const victim = all[Math.floor(Math.random() * all.length)];
        victim?.destroy();
        return victim !== undefined;
      },
      refuseFor: (ms) => this.#refuseFor(ms),
    });
  }

  /** Not listening for `ms` (connections are refused), then listening again; open connections stay. */
  #refuseFor(ms: number): void {
    if (this.#closed || this.#refusal) return;
    this.pause().catch(() => {});
    this.#refusal = setTimeout(() => {
      this.#refusal = undefined;
      if (!this.#closed) this.listen().catch(() => {});
    }, ms);
  }

  #accept(socket: Socket): void {
    this.stats.connectionsAccepted++;
    this.stats.activeConnections++;
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.stats.activeConnections--;
      this.#sockets.delete(socket);
    });
    socket.on('error', () => socket.destroy());
    const hand = () => {
      if (socket.destroyed) return;
      this.#tls.emit('connection', socket);
      socket.resume();
    };
    if (this.#delayMs > 0) setTimeout(hand, this.#delayMs);
    else hand();
  }

  recordWire(): WireRecord[] {
    this.#wire = [];
    return this.#wire;
  }

  /** A new recorded exchange (upgrade or request): its number, for the records that follow. */
  recordOpen(method: string, url: string, headers: Record<string, string | string[] | undefined>): number {
    const conn = ++this.#wireConn;
    if (this.#wire) {
      const u = new URL(url, 'https://local');
      this.#wire.push({ conn, kind: 'open', method, path: u.pathname, query: Object.fromEntries(u.searchParams), headers: plainHeaders(headers) });
    }
    return conn;
  }

  record(rec: WireRecord): void {
    this.#wire?.push(rec);
  }

  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `${this.#scheme}://${host}:${this.#port}`;
  }

  async listen(): Promise<void> {
    if (this.#listening) return;
    await new Promise<void>((resolve, reject) => {
      this.#net.once('error', reject);
      this.#net.listen(this.#port, this.#host, () => {
        this.#net.off('error', reject);
        resolve();
      });
    });
    const addr = this.#net.address();
    if (addr && typeof addr === 'object') this.#port = addr.port;
    this.#listening = true;
  }

  dropConnections(): void {
    for (const s of this.#sockets) s.destroy();
  }

  async pause(): Promise<void> {
    if (!this.#listening) return;
    this.#listening = false;
    // close() stops accepting at once; its callback would wait for open connections, which pause keeps.
    this.#net.close();
  }

  resume(): Promise<void> {
    return this.listen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.chaos.stop();
    if (this.#refusal) clearTimeout(this.#refusal);
    this.dropConnections();
    await this.pause();
    this.#tls.close();
  }
}
