import type { Server, Socket } from 'node:net';
import { SipLimitError, SipTransportError } from '../errors.js';
import type { ParseLimits, SipMessage, SipResponse } from '../message/index.js';
import { connectionRules, type ConnectionRules } from './connection-rules.js';
import { ConnectionTransport } from './connection-transport.js';
import { StreamFramer } from './stream-framer.js';
import { bareHost, peerKey, reject, type Destination, type Peer } from './transport.js';

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
  /** Moves the connection to the long idle timeout (its first valid message). */
  prove: () => void = () => {};
  /** When the first byte of the message still being received arrived. */
  partialSince: number | undefined;
  /** The host name an outbound TLS connection was verified against (undefined: its address). */
  serverName: string | undefined;
  constructor(readonly socket: Socket, readonly remote: Peer, limits: ParseLimits) {
    this.framer = new StreamFramer(limits);
  }
}

/**
 * SIP over a byte stream (RFC 3261 §18): TCP here, TLS in a subclass.
 * Each connection has its own framer; a peer that breaks framing or goes
 * over the size limit loses its connection (and is counted), never the
 * process's memory; one that sends a message slower than
 * `messageTimeoutMs` is cut. Responses go back on the connection the
 * request came in on (§18.2.2); requests reuse any open connection to
 * their destination before opening one.
 */
export abstract class StreamTransport extends ConnectionTransport<Connection> {
  abstract override readonly protocol: 'TCP' | 'TLS';
  readonly #server: Server;
  readonly #maxQueued: number;
  #sweeper: NodeJS.Timeout | undefined;
  #closed = false;

  protected constructor(server: Server, o: StreamTransportOptions) {
    super(o.limits, connectionRules(o));
    this.#server = server;
    this.#maxQueued = o.maxQueuedBytes ?? 1 << 20;
    server.on('error', () => {});
  }

  /** The port written in Via sent-by when none is given (§18.2.2 falls back to it). */
  protected abstract readonly defaultPort: number;
  /** Opens an outbound connection; the socket may still be connecting (writes are queued by Node). */
  protected abstract connect(to: Destination): Socket;

  /** Why an outbound connection never came up, from the socket's error (TLS tells certificate failures apart). */
  protected connectFailure(remote: Peer, failure: Error | undefined): SipTransportError {
    return new SipTransportError(`cannot connect to ${this.protocol} ${remote.address}:${remote.port}${failure ? `: ${failure.message}` : ''}`, { transport: this.protocol, address: remote.address, port: remote.port }, failure && { cause: failure });
  }

  protected async listen(host: string, port: number): Promise<void> {
    await this.listenOn(this.#server, host, port);
    const deadline = this.rules.messageTimeoutMs;
    // One sweep for every connection rather than a timer per message: a partial message is rare, a timer per message is not free.
    if (deadline > 0) this.#sweeper = setInterval(() => this.#cutSlowSenders(), Math.max(20, Math.min(1000, deadline / 4))).unref();
  }

  /** Called by the subclass for each accepted (and, for TLS, handshaken) socket. */
  protected accepted(socket: Socket): void {
    const remote = { address: normalize(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 };
    if (!this.admit(remote, this.#closed)) {
      socket.destroy();
      return;
    }
    this.#adopt(socket, remote, true);
  }

  send(message: SipMessage | Buffer, to: Destination, onError?: (err: SipTransportError) => void): void {
    if (this.#closed) return this.sendFailed(to, 'transport closed', onError);
    const key = connectionKey(to);
    let c = this.conns.get(key);
    // A connection we are closing (framing lost, peer gone) takes no more messages; one verified
    // for another host name does not prove this one (RFC 5922 §4: the identity is per host name).
    if (c && (!c.socket.writable || (to.tls?.serverName !== undefined && c.serverName !== to.tls.serverName))) c = undefined;
    if (!c) {
      if (this.conns.size >= this.rules.maxConnections) return this.sendFailed(to, `${this.rules.maxConnections} connections open`, onError);
      c = this.#adopt(this.connect(to), { address: to.address, port: to.port }, false, key);
      c.serverName = to.tls?.serverName;
      c.waiting = [];
    }
    if (onError && c.waiting) c.waiting.push(onError);
    if (!this.#write(c, Buffer.isBuffer(message) ? message : message.toBuffer()) && onError && !c.waiting) {
      // #write counted it; a connection still coming up reports through `waiting` when it closes.
      queueMicrotask(() => onError(new SipTransportError('peer not reading: send queue full', { transport: this.protocol, address: to.address, port: to.port })));
    }
  }

  sendResponse(res: SipResponse, source?: Peer): void {
    // A request that came over a connection we opened for a name is answered on it too.
    const c = source && (this.conns.get(peerKey(source)) ?? this.#openedTo(source));
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
    for (const c of this.conns.values()) c.socket.destroy();
    this.conns.clear();
    this.stats.connections = 0;
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** A writable connection we opened to `peer` for some TLS name (keyed by it, not by the peer alone). */
  #openedTo(peer: Peer): Connection | undefined {
    for (const c of this.conns.values()) if (c.remote.port === peer.port && c.remote.address === peer.address && c.socket.writable) return c;
    return undefined;
  }

  #adopt(socket: Socket, remote: Peer, inbound: boolean, key = peerKey(remote)): Connection {
    const c = new Connection(socket, remote, this.limits);
    // Replaces only a connection under the same key: one to the same address for another TLS name stays.
    this.conns.get(key)?.socket.destroy();
    this.track(remote, c, key);
    socket.setNoDelay(true);
    // A connection we opened is trusted from the start; one we accepted must say something valid first.
    c.prove = this.idleRules(socket, remote, !inbound, () => socket.destroy());
    socket.on('data', (chunk: Buffer) => this.#onData(c, chunk));
    // TLS sockets are usable after the handshake, plain ones after connect.
    // TLS: not at 'secureConnect' but at the peer's first bytes. With TLS 1.3 the server checks
    // our certificate after our side of the handshake is done: its refusal (an alert, then close)
    // must fail what we sent at once, not at Timer F.
    socket.once(this.protocol === 'TLS' && !inbound ? 'data' : this.protocol === 'TLS' ? 'secureConnect' : 'connect', () => { c.waiting = undefined; });
    let failure: Error | undefined;
    socket.on('error', (err) => { failure = err; });
    socket.on('close', () => {
      if (inbound) this.released(remote);
      this.untrack(key, c);
      const waiting = c.waiting;
      c.waiting = undefined;
      if (waiting?.length) {
        this.stats.sendFailures++;
        const err = this.connectFailure(remote, failure);
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

  #cutSlowSenders(): void {
    const before = Date.now() - this.rules.messageTimeoutMs;
    for (const c of this.conns.values()) {
      if (c.partialSince === undefined || c.partialSince > before || c.socket.destroyed) continue;
      reject(this, 'message-timeout', c.remote, `${c.framer.buffered} bytes of a message not complete after ${this.rules.messageTimeoutMs} ms`);
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
      if (f.kind === 'message') {
        // The frame was cut by Content-Length, so even a malformed message leaves the stream in step.
        if (this.deliver(f.bytes, c.remote) === 'delivered') c.prove();
      } else if (f.kind === 'ping') {
        c.socket.write(PONG);
      } else {
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
}

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) → `127.0.0.1`, so keys and Via `received` match. */
export function normalize(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/** Outbound connections by peer, and for TLS by the name the peer's certificate was verified for. */
function connectionKey(to: Destination): string {
  const name = to.tls?.serverName;
  return name === undefined ? peerKey(to) : `${peerKey(to)}#${name}`;
}
