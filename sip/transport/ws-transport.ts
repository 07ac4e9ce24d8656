import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { SipLimitError, SipParseError, SipTransportError } from '../errors.js';
import { responseToMalformed, DEFAULT_LIMITS, parseMessage, salvageRequest, SipRequest, type ParseLimits, type SipMessage, type SipResponse } from '../message/index.js';
import { connectionRules, DEFAULT_CONNECTION_RULES, SourceCount, type ConnectionRules } from './connection-rules.js';
import { peerKey, reject, stampReceived, type Peer, type Rejection, type StreamTransportStats, type Transport, type TransportUser } from './transport.js';

export interface WsTransportOptions extends Partial<ConnectionRules> {
  limits?: ParseLimits;
  /** Key and certificate: the transport is WSS (RFC 7118 §5) on an HTTPS server. */
  tls?: HttpsOptions;
  /** HTTP path the WebSocket upgrade is accepted on. Default: any. */
  path?: string;
}

/** RFC 7118 §4: the WebSocket sub-protocol a SIP client must ask for. */
export const SIP_WS_PROTOCOL = 'sip';
const POLICY_VIOLATION = 1008;
const PROTOCOL_ERROR = 1002;
const MAX_QUEUED_BYTES = 1 << 20;

/**
 * SIP over WebSocket (RFC 7118) for browsers: one SIP message per WebSocket
 * message, Via `SIP/2.0/WS` (or WSS). A browser cannot accept connections,
 * so everything we send a peer (responses and in-dialog requests such as
 * BYE) goes over the connection it opened; when that connection is gone the
 * message is counted as a send failure.
 */
export class WsTransport implements Transport {
  readonly protocol: 'WS' | 'WSS';
  readonly reliable = true;
  readonly stats: StreamTransportStats = { received: 0, sent: 0, rejected: 0, dropped: 0, rejections: {}, connections: 0, opened: 0, framingErrors: 0, oversize: 0, refused: 0, sendFailures: 0 };
  onReject: ((r: Rejection) => void) | undefined;
  readonly #http: HttpServer;
  readonly #wss: WebSocketServer;
  readonly #limits: ParseLimits;
  readonly #rules: ConnectionRules;
  readonly #conns = new Map<string, WebSocket>();
  readonly #sources = new SourceCount();
  #user: TransportUser | undefined;
  #local: Peer = { address: '', port: 0 };

  private constructor(o: WsTransportOptions) {
    this.protocol = o.tls ? 'WSS' : 'WS';
    this.#limits = o.limits ?? DEFAULT_LIMITS;
    this.#rules = connectionRules(o, { ...DEFAULT_CONNECTION_RULES, idleTimeoutMs: 0 });
    this.#http = o.tls ? createHttpsServer(o.tls) : createHttpServer();
    // The upgrade request is a header block too: a slow one is cut like a slow SIP message.
    this.#http.headersTimeout = this.#rules.messageTimeoutMs;
    this.#http.requestTimeout = this.#rules.messageTimeoutMs;
    this.#http.on('request', (_req, res) => res.writeHead(426, { upgrade: 'websocket' }).end());
    this.#wss = new WebSocketServer({
      server: this.#http,
      ...(o.path !== undefined && { path: o.path }),
      // ws closes the connection (1009) on a bigger message before buffering it.
      maxPayload: this.#limits.maxMessageBytes,
      handleProtocols: (protocols) => (protocols.has(SIP_WS_PROTOCOL) ? SIP_WS_PROTOCOL : false),
    });
    this.#wss.on('connection', (ws, req) => this.#onConnection(ws, req));
    this.#wss.on('error', () => {});
  }

  // A static `bind` shadows Function.prototype.bind on purpose: the name mirrors UdpTransport.bind.
  static async bind(host: string, port: number, o: WsTransportOptions = {}): Promise<WsTransport> {
    const t = new WsTransport(o);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new SipTransportError(`cannot listen on ${t.protocol} ${host}:${port}: ${err.message}`, { host, port }, { cause: err }));
      t.#http.once('error', onError);
      t.#http.listen(port, host, () => {
        t.#http.off('error', onError);
        resolve();
      });
    });
    const a = t.#http.address();
    if (a && typeof a === 'object') t.#local = { address: a.address, port: a.port };
    return t;
  }

  get local(): Peer {
    return this.#local;
  }

  get connectionCount(): number {
    return this.#conns.size;
  }

  setUser(user: TransportUser): void {
    this.#user = user;
  }

  send(message: SipMessage | Buffer, to: Peer, onError?: (err: SipTransportError) => void): void {
    const ws = this.#conns.get(peerKey(to));
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      this.stats.sendFailures++;
      // A browser cannot be called back: without its connection the message cannot go.
      if (onError) queueMicrotask(() => onError(new SipTransportError(`no WebSocket connection from ${to.address}:${to.port}`, { transport: this.protocol, address: to.address, port: to.port })));
      return;
    }
    const text = Buffer.isBuffer(message) ? message.toString('utf8') : message.toString();
    // A browser that stops reading must not make us hold its unsent messages forever.
    if (ws.bufferedAmount + text.length > MAX_QUEUED_BYTES) {
      this.stats.sendFailures++;
      ws.terminate();
      if (onError) queueMicrotask(() => onError(new SipTransportError('peer not reading: send queue full', { transport: this.protocol, address: to.address, port: to.port })));
      return;
    }
    this.stats.sent++;
    // RFC 7118 §5.2: SIP is UTF-8 text; a text frame is what browser SIP stacks expect.
    ws.send(text);
  }

  sendResponse(res: SipResponse, source?: Peer): void {
    if (!source) {
      this.stats.sendFailures++;
      return;
    }
    this.send(res, source);
  }

  async close(): Promise<void> {
    for (const ws of this.#conns.values()) ws.terminate();
    this.#conns.clear();
    this.stats.connections = 0;
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const addr = req.socket.remoteAddress ?? '';
    const remote: Peer = { address: addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr, port: req.socket.remotePort ?? 0 };
    // RFC 7118 §4: without the "sip" sub-protocol the peer does not speak SIP to us.
    if (ws.protocol !== SIP_WS_PROTOCOL) {
      this.stats.refused++;
      ws.close(PROTOCOL_ERROR);
      return;
    }
    const full = this.#conns.size >= this.#rules.maxConnections;
    if (full || !this.#sources.admit(remote.address, this.#rules.maxConnectionsPerSource)) {
      this.stats.refused++;
      reject(this, full ? 'connection-cap' : 'source-cap', remote, full ? `${this.#rules.maxConnections} connections open` : `${this.#rules.maxConnectionsPerSource} connections from ${remote.address}`);
      ws.close(POLICY_VIOLATION);
      return;
    }
    // Until the peer sends a valid message it gets the short idle timeout; then the configured one.
    const socket = req.socket;
    let proven = false;
    socket.setTimeout(this.#rules.unprovenIdleMs);
    socket.on('timeout', () => {
      if (!proven) reject(this, 'unproven-idle', remote, `no valid message in ${this.#rules.unprovenIdleMs} ms`);
      ws.terminate();
    });
    const prove = () => {
      if (proven) return;
      proven = true;
      socket.setTimeout(this.#rules.idleTimeoutMs);
    };
    const key = peerKey(remote);
    this.#conns.set(key, ws);
    this.stats.opened++;
    this.stats.connections = this.#conns.size;
    ws.on('message', (data: RawData) => {
      if (this.#onMessage(ws, remote, toBuffer(data))) prove();
    });
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.stats.oversize++;
      else this.stats.framingErrors++;
    });
    ws.on('close', () => {
      this.#sources.release(remote.address);
      if (this.#conns.get(key) === ws) this.#conns.delete(key);
      this.stats.connections = this.#conns.size;
    });
  }

  /** Whether `bytes` was a valid SIP message. */
  #onMessage(ws: WebSocket, remote: Peer, bytes: Buffer): boolean {
    // RFC 5626-style CRLF keepalives carry no message.
    if (bytes.length <= 4 && bytes.toString('latin1').trim() === '') return false;
    this.stats.received++;
    let msg: SipMessage;
    try {
      msg = parseMessage(bytes, this.#limits);
    } catch (err) {
      if (!(err instanceof SipParseError || err instanceof SipLimitError)) throw err;
      reject(this, err.kind, remote, err.message);
      const res = responseToMalformed(bytes, err);
      if (res) {
        this.stats.rejected++;
        this.sendResponse(res, remote);
      } else {
        this.stats.dropped++;
        // Each WebSocket message is one SIP message, so garbage does not desynchronise the stream; but a peer sending only garbage is not a SIP client.
        if (!salvageRequest(bytes)) {
          this.stats.framingErrors++;
          ws.close(PROTOCOL_ERROR);
        }
      }
      return false;
    }
    if (msg instanceof SipRequest) stampReceived(msg, remote);
    this.#user?.receive(msg, remote, this);
    return true;
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
