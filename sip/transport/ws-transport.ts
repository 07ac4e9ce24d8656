import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { SipTransportError } from '../errors.js';
import type { ParseLimits, SipMessage, SipResponse } from '../message/index.js';
import { connectionRules, DEFAULT_CONNECTION_RULES, type ConnectionRules } from './connection-rules.js';
import { ConnectionTransport } from './connection-transport.js';
import { normalize } from './stream-transport.js';
import { peerKey, type Peer } from './transport.js';

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
export class WsTransport extends ConnectionTransport<WebSocket> {
  readonly protocol: 'WS' | 'WSS';
  readonly #http: HttpServer;
  readonly #wss: WebSocketServer;

  private constructor(o: WsTransportOptions) {
    // A proven WebSocket never idles out: a browser in a long call may have nothing to say.
    super(o.limits, connectionRules(o, { ...DEFAULT_CONNECTION_RULES, idleTimeoutMs: 0 }));
    this.protocol = o.tls ? 'WSS' : 'WS';
    this.#http = o.tls ? createHttpsServer(o.tls) : createHttpServer();
    // The upgrade request is a header block too: a slow one is cut like a slow SIP message.
    this.#http.headersTimeout = this.rules.messageTimeoutMs;
    this.#http.requestTimeout = this.rules.messageTimeoutMs;
    this.#http.on('request', (_req, res) => res.writeHead(426, { upgrade: 'websocket' }).end());
    this.#wss = new WebSocketServer({
      server: this.#http,
      ...(o.path !== undefined && { path: o.path }),
      // ws closes the connection (1009) on a bigger message before buffering it.
      maxPayload: this.limits.maxMessageBytes,
      handleProtocols: (protocols) => (protocols.has(SIP_WS_PROTOCOL) ? SIP_WS_PROTOCOL : false),
    });
    this.#wss.on('connection', (ws, req) => this.#onConnection(ws, req));
    this.#wss.on('error', () => {});
  }

  // `override` because a class is a function: a static `bind` shadows Function.prototype.bind (the name mirrors UdpTransport.bind).
  static override async bind(host: string, port: number, o: WsTransportOptions = {}): Promise<WsTransport> {
    const t = new WsTransport(o);
    await t.listenOn(t.#http, host, port);
    return t;
  }

  send(message: SipMessage | Buffer, to: Peer, onError?: (err: SipTransportError) => void): void {
    const ws = this.conns.get(peerKey(to));
    // A browser cannot be called back: without its connection the message cannot go.
    if (!ws || ws.readyState !== WebSocket.OPEN) return this.sendFailed(to, `no WebSocket connection from ${to.address}:${to.port}`, onError);
    const text = Buffer.isBuffer(message) ? message.toString('utf8') : message.toString();
    // A browser that stops reading must not make us hold its unsent messages forever.
    if (ws.bufferedAmount + text.length > MAX_QUEUED_BYTES) {
      ws.terminate();
      return this.sendFailed(to, 'peer not reading: send queue full', onError);
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
    for (const ws of this.conns.values()) ws.terminate();
    this.conns.clear();
    this.stats.connections = 0;
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #onConnection(ws: WebSocket, req: IncomingMessage): void {
    const remote: Peer = { address: normalize(req.socket.remoteAddress ?? ''), port: req.socket.remotePort ?? 0 };
    // RFC 7118 §4: without the "sip" sub-protocol the peer does not speak SIP to us.
    if (ws.protocol !== SIP_WS_PROTOCOL) {
      this.stats.refused++;
      ws.close(PROTOCOL_ERROR);
      return;
    }
    if (!this.admit(remote)) {
      ws.close(POLICY_VIOLATION);
      return;
    }
    const prove = this.idleRules(req.socket, remote, false, () => ws.terminate());
    const key = this.track(remote, ws);
    ws.on('message', (data: RawData) => this.#onMessage(ws, remote, toBuffer(data), prove));
    ws.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.stats.oversize++;
      else this.stats.framingErrors++;
    });
    ws.on('close', () => {
      this.released(remote);
      this.untrack(key, ws);
    });
  }

  #onMessage(ws: WebSocket, remote: Peer, bytes: Buffer, prove: () => void): void {
    // RFC 5626-style CRLF keepalives carry no message.
    if (bytes.length <= 4 && bytes.toString('latin1').trim() === '') return;
    const d = this.deliver(bytes, remote);
    if (d === 'delivered') prove();
    // Each WebSocket message is one SIP message, so garbage does not desynchronise the stream; but a peer sending only garbage is not a SIP client.
    if (d === 'garbage') {
      this.stats.framingErrors++;
      ws.close(PROTOCOL_ERROR);
    }
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
