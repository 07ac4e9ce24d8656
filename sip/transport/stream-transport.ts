import type { Server, Socket } from 'node:net';
import { SipLimitError, SipParseError, SipTransportError } from '../errors.js';
import { DEFAULT_LIMITS, responseToMalformed, parseMessage, SipRequest, type ParseLimits, type SipMessage, type SipResponse } from '../message/index.js';
import { connectionRules, SourceCount, type ConnectionRules } from './connection-rules.js';
import { StreamFramer } from './stream-framer.js';
import { bareHost, peerKey, reject, stampReceived, type Peer, type Rejection, type StreamTransportStats, type Transport, type TransportUser } from './transport.js';

export interface StreamTransportOptions extends Partial<ConnectionRules> {
  limits?: ParseLimits;
  /** Bytes queued for a peer that does not read before its connection is dropped. Default 1 MiB. */
  maxQueuedBytes?: number;
}

const PONG = Buffer.from('\r\n');

/** One TCP or TLS connection and the framing state of its inbound bytes. */
class Connection {
  readonly framer: StreamFramer;
  /** Who to tell if this outbound connection never comes up; emptied once it does. */
  waiting: Array<(err: SipTransportError) => void> | undefined;
  /** Whether the peer sent a message that parsed (or we opened the connection): it gets the long idle timeout. */
  proven: boolean;
  /** When the first byte of the message still being received arrived. */
  partialSince: number | undefined;
  constructor(readonly socket: Socket, readonly remote: Peer, limits: ParseLimits, readonly inbound: boolean) {
    this.framer = new StreamFramer(limits);
    this.proven = !inbound;
  }
}

/**
 * SIP over a byte stream (RFC 3261 §18): TCP here, TLS in a subclass.
 * Each connection has its own framer; a peer that breaks framing or goes
 * over the size limit loses its connection (and is counted), never the
 * process's memory. Responses go back on the connection the request came
 * in on (§18.2.2); requests reuse any open connection to their destination
 * before opening one.
 */
export abstract class StreamTransport implements Transport {
  abstract readonly protocol: 'TCP' | 'TLS';
  readonly reliable = true;
  readonly stats: StreamTransportStats = { received: 0, sent: 0, rejected: 0, dropped: 0, rejections: {}, connections: 0, opened: 0, framingErrors: 0, oversize: 0, refused: 0, sendFailures: 0 };
  onReject: ((r: Rejection) => void) | undefined;
  readonly #server: Server;
  readonly #limits: ParseLimits;
  readonly #rules: ConnectionRules;
  readonly #maxQueued: number;
  readonly #conns = new Map<string, Connection>();
  readonly #sources = new SourceCount();
  #sweeper: NodeJS.Timeout | undefined;
  #user: TransportUser | undefined;
  #local: Peer = { address: '', port: 0 };
  #closed = false;

  protected constructor(server: Server, o: StreamTransportOptions) {
    this.#server = server;
    this.#limits = o.limits ?? DEFAULT_LIMITS;
    this.#rules = connectionRules(o);
    this.#maxQueued = o.maxQueuedBytes ?? 1 << 20;
    server.on('error', () => {});
  }

  /** The port written in Via sent-by when none is given (§18.2.2 falls back to it). */
  protected abstract readonly defaultPort: number;
  /** Opens an outbound connection; the socket may still be connecting (writes are queued by Node). */
  protected abstract connect(to: Peer): Socket;

  protected async listen(host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new SipTransportError(`cannot listen on ${this.protocol} ${host}:${port}: ${err.message}`, { host, port }, { cause: err }));
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    const a = this.#server.address();
    if (a && typeof a === 'object') this.#local = { address: a.address, port: a.port };
    const deadline = this.#rules.messageTimeoutMs;
    // One sweep for every connection rather than a timer per message: a partial message is rare, a timer per message is not free.
    if (deadline > 0) this.#sweeper = setInterval(() => this.#cutSlowSenders(), Math.max(20, Math.min(1000, deadline / 4))).unref();
  }

  /** Called by the subclass for each accepted (and, for TLS, handshaken) socket. */
  protected accepted(socket: Socket): void {
    const remote = { address: normalize(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    const full = this.#closed || this.#conns.size >= this.#rules.maxConnections;
    if (full || !this.#sources.admit(remote.address, this.#rules.maxConnectionsPerSource)) {
      this.stats.refused++;
      if (!this.#closed) reject(this, full ? 'connection-cap' : 'source-cap', remote, full ? `${this.#rules.maxConnections} connections open` : `${this.#rules.maxConnectionsPerSource} connections from ${remote.address}`);
      socket.destroy();
      return;
    }
    this.#adopt(socket, remote, true);
  }

  get local(): Peer {
    return this.#local;
  }

  /** Open connections (for tests and /metrics). */
  get connectionCount(): number {
    return this.#conns.size;
  }

  setUser(user: TransportUser): void {
    this.#user = user;
  }

  send(message: SipMessage | Buffer, to: Peer, onError?: (err: SipTransportError) => void): void {
    const fail = (reason: string) => {
      this.stats.sendFailures++;
      if (onError) queueMicrotask(() => onError(new SipTransportError(reason, { transport: this.protocol, address: to.address, port: to.port })));
    };
    if (this.#closed) return fail('transport closed');
    const key = peerKey(to);
    let c = this.#conns.get(key);
    // A connection we are closing (framing lost, peer gone) takes no more messages.
    if (c && !c.socket.writable) c = undefined;
    if (!c) {
      if (this.#conns.size >= this.#rules.maxConnections) return fail(`${this.#rules.maxConnections} connections open`);
      c = this.#adopt(this.connect(to), { address: to.address, port: to.port }, false);
      c.waiting = [];
    }
    if (onError && c.waiting) c.waiting.push(onError);
    if (!this.#write(c, Buffer.isBuffer(message) ? message : message.toBuffer()) && onError && !c.waiting) {
      // #write counted it; a connection still coming up reports through `waiting` when it closes.
      queueMicrotask(() => onError(new SipTransportError('peer not reading: send queue full', { transport: this.protocol, address: to.address, port: to.port })));
    }
  }

  sendResponse(res: SipResponse, source?: Peer): void {
    const c = source && this.#conns.get(peerKey(source));
    if (c && c.socket.writable) {
      this.#write(c, res.toBuffer());
      return;
    }
    // §18.2.2: the connection is gone; open one to `received` at the sent-by port.
    const via = res.via[0];
    if (!via) return;
    this.send(res, { address: via.params.get('received') || bareHost(via.host), port: via.port ?? this.defaultPort });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    for (const c of this.#conns.values()) c.socket.destroy();
    this.#conns.clear();
    this.stats.connections = 0;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #adopt(socket: Socket, remote: Peer, inbound: boolean): Connection {
    const c = new Connection(socket, remote, this.#limits, inbound);
    const key = peerKey(remote);
    this.#conns.get(key)?.socket.destroy();
    this.#conns.set(key, c);
    this.stats.opened++;
    this.stats.connections = this.#conns.size;
    socket.setNoDelay(true);
    this.#idleFor(c);
    socket.on('timeout', () => {
      if (!c.proven) reject(this, 'unproven-idle', remote, `no valid message in ${this.#rules.unprovenIdleMs} ms`);
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => this.#onData(c, chunk));
    // TLS sockets are usable after the handshake, plain ones after connect.
    socket.once(this.protocol === 'TLS' ? 'secureConnect' : 'connect', () => { c.waiting = undefined; });
    let failure: Error | undefined;
    socket.on('error', (err) => { failure = err; });
    socket.on('close', () => {
      if (inbound) this.#sources.release(remote.address);
      if (this.#conns.get(key) === c) this.#conns.delete(key);
      this.stats.connections = this.#conns.size;
      const waiting = c.waiting;
      c.waiting = undefined;
      if (waiting?.length) {
        this.stats.sendFailures++;
        const err = new SipTransportError(`cannot connect to ${this.protocol} ${remote.address}:${remote.port}${failure ? `: ${failure.message}` : ''}`, { transport: this.protocol, address: remote.address, port: remote.port }, failure && { cause: failure });
        for (const w of waiting) w(err);
      }
    });
    return c;
  }

  #write(c: Connection, buf: Buffer): boolean {
    // A peer that stops reading must not make us hold its unsent messages forever.
    if (c.socket.writableLength + buf.length > this.#maxQueued) {
      this.stats.sendFailures++;
      c.socket.destroy();
      return false;
    }
    this.stats.sent++;
    c.socket.write(buf);
    return true;
  }

  /** A proven connection may idle long; one that has not sent a valid message yet, briefly. */
  #idleFor(c: Connection): void {
    const ms = c.proven ? this.#rules.idleTimeoutMs : this.#rules.unprovenIdleMs;
    c.socket.setTimeout(ms);
  }

  #cutSlowSenders(): void {
    const before = Date.now() - this.#rules.messageTimeoutMs;
    for (const c of this.#conns.values()) {
      if (c.partialSince === undefined || c.partialSince > before || c.socket.destroyed) continue;
      reject(this, 'message-timeout', c.remote, `${c.framer.buffered} bytes of a message not complete after ${this.#rules.messageTimeoutMs} ms`);
      c.socket.destroy();
    }
  }

  #onData(c: Connection, chunk: Buffer): void {
    const frames = c.framer.push(chunk);
    // The deadline runs from the first byte of the message still incomplete.
    if (c.framer.buffered === 0) c.partialSince = undefined;
    else if (c.partialSince === undefined || frames.some((f) => f.kind === 'message')) c.partialSince = Date.now();
    for (const f of frames) {
      if (c.socket.destroyed) return;
      if (f.kind === 'message') this.#onMessage(c, f.bytes);
      else if (f.kind === 'ping') c.socket.write(PONG);
      else {
        if (f.error instanceof SipLimitError) this.stats.oversize++;
        else this.stats.framingErrors++;
        reject(this, f.error.kind, c.remote, f.error.message);
        // The framing is lost: nothing after this point can start a message. end() still
        // flushes the answers to what came before; a peer that does not close is cut off.
        c.socket.end();
        setTimeout(() => c.socket.destroy(), 2000).unref();
      }
    }
  }

  #onMessage(c: Connection, bytes: Buffer): void {
    this.stats.received++;
    let msg: SipMessage;
    try {
      msg = parseMessage(bytes, this.#limits);
    } catch (err) {
      if (!(err instanceof SipParseError || err instanceof SipLimitError)) throw err;
      reject(this, err.kind, c.remote, err.message);
      // The frame was cut by Content-Length, so the stream is still in step: answer 400 and carry on.
      const res = responseToMalformed(bytes, err, (req) => stampReceived(req, c.remote));
      if (res) {
        this.stats.rejected++;
        this.sendResponse(res, c.remote);
      } else {
        this.stats.dropped++;
      }
      return;
    }
    if (!c.proven) {
      c.proven = true;
      this.#idleFor(c);
    }
    if (msg instanceof SipRequest) stampReceived(msg, c.remote);
    this.#user?.receive(msg, c.remote, this);
  }
}

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) → `127.0.0.1`, so keys and Via `received` match. */
function normalize(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
