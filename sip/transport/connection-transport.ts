import type { Server as NetServer, Socket } from 'node:net';
import { SipLimitError, SipParseError, SipTransportError } from '../errors.js';
import { answerMalformed, DEFAULT_LIMITS, parseMessage, salvageRequest, SipRequest, type ParseLimits, type SipMessage, type SipResponse } from '../message/index.js';
import { SourceCount, type ConnectionRules } from './connection-rules.js';
import { peerKey, reject, stampReceived, type Peer, type Rejection, type StreamTransportStats, type Transport, type TransportProtocol, type TransportUser } from './transport.js';

/** What became of one received message. */
export type Delivery =
  /** Parsed and handed to the user. */
  | 'delivered'
  /** Malformed, answered 400 (or 505). */
  | 'answered'
  /** Malformed, not answerable (an ACK, a broken Via…), dropped. */
  | 'dropped'
  /** Not even a request's identity could be read: not SIP. */
  | 'garbage';

/**
 * What the connection-oriented transports (TCP, TLS, WebSocket) share: the
 * counters, the user and local address, listening with a typed error, the
 * admission rules (total and per-source caps), the idle rules (short until
 * the first valid message), reporting a failed send, and turning one whole
 * message into a delivery or a 400. Subclasses keep only what their wire
 * differs in: framing (a byte stream or WebSocket messages), sending, and
 * where a response goes when the connection is gone.
 */
export abstract class ConnectionTransport<C> implements Transport {
  abstract readonly protocol: TransportProtocol;
  readonly reliable = true;
  readonly stats: StreamTransportStats = { received: 0, sent: 0, rejected: 0, dropped: 0, rejections: {}, connections: 0, opened: 0, framingErrors: 0, oversize: 0, refused: 0, sendFailures: 0 };
  onReject: ((r: Rejection) => void) | undefined;
  protected readonly limits: ParseLimits;
  protected readonly rules: ConnectionRules;
  /** Open connections by peer (address|port). */
  protected readonly conns = new Map<string, C>();
  readonly #sources = new SourceCount();
  #user: TransportUser | undefined;
  #local: Peer = { address: '', port: 0 };

  protected constructor(limits: ParseLimits | undefined, rules: ConnectionRules) {
    this.limits = limits ?? DEFAULT_LIMITS;
    this.rules = rules;
  }

  get local(): Peer {
    return this.#local;
  }

  /** Open connections (for tests and /metrics). */
  get connectionCount(): number {
    return this.conns.size;
  }

  setUser(user: TransportUser): void {
    this.#user = user;
  }

  abstract send(message: SipMessage | Buffer, to: Peer, onError?: (err: SipTransportError) => void): void;
  abstract sendResponse(res: SipResponse, source?: Peer): void;
  abstract close(): Promise<void>;

  /** Listens on host:port; a failure is a SipTransportError with the socket's error as its cause. */
  protected async listenOn(server: NetServer, host: string, port: number): Promise<void> {
    await new Promise<void>((resolve, fail) => {
      const onError = (err: Error) => fail(new SipTransportError(`cannot listen on ${this.protocol} ${host}:${port}: ${err.message}`, { host, port }, { cause: err }));
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const a = server.address();
    if (a && typeof a === 'object') this.#local = { address: a.address, port: a.port };
  }

  /**
   * Whether an inbound connection from `remote` may open: under the total
   * cap and its address's cap. A refusal is counted; an admitted connection
   * must call `released` when it closes.
   */
  protected admit(remote: Peer, closed = false): boolean {
    const full = closed || this.conns.size >= this.rules.maxConnections;
    if (!full && this.#sources.admit(remote.address, this.rules.maxConnectionsPerSource)) return true;
    this.stats.refused++;
    if (!closed) reject(this, full ? 'connection-cap' : 'source-cap', remote, full ? `${this.rules.maxConnections} connections open` : `${this.rules.maxConnectionsPerSource} connections from ${remote.address}`);
    return false;
  }

  protected released(remote: Peer): void {
    this.#sources.release(remote.address);
  }

  /**
   * Keeps `c` as the connection to `remote` (replacing an older one under the same key) and counts
   * it. `key` defaults to the peer's address and port; an outbound TLS connection adds the name it
   * was verified for, so that connections to one address for two names live side by side.
   */
  protected track(remote: Peer, c: C, key = peerKey(remote)): string {
    this.conns.set(key, c);
    this.stats.opened++;
    this.stats.connections = this.conns.size;
    return key;
  }

  protected untrack(key: string, c: C): void {
    if (this.conns.get(key) === c) this.conns.delete(key);
    this.stats.connections = this.conns.size;
  }

  /**
   * The idle rules on a socket: the short timeout until the returned
   * `prove()` is called (the first valid message), then the long one. `end`
   * closes the connection when either runs out.
   */
  protected idleRules(socket: Socket, remote: Peer, proven: boolean, end: () => void): () => void {
    let ok = proven;
    socket.setTimeout(ok ? this.rules.idleTimeoutMs : this.rules.unprovenIdleMs);
    socket.on('timeout', () => {
      if (!ok) reject(this, 'unproven-idle', remote, `no valid message in ${this.rules.unprovenIdleMs} ms`);
      end();
    });
    return () => {
      if (ok) return;
      ok = true;
      socket.setTimeout(this.rules.idleTimeoutMs);
    };
  }

  /** Counts a message that could not be sent and tells `onError`, asynchronously (the caller is still inside send()). */
  protected sendFailed(to: Peer, reason: string, onError?: (err: SipTransportError) => void): void {
    this.stats.sendFailures++;
    if (onError) queueMicrotask(() => onError(new SipTransportError(reason, { transport: this.protocol, address: to.address, port: to.port })));
  }

  /**
   * One whole message from `remote`: parsed, stamped with where it came from
   * (RFC 3581) and handed to the user; or refused (counted by reason) and
   * answered 400 when its identity can be read.
   */
  protected deliver(bytes: Buffer, remote: Peer): Delivery {
    this.stats.received++;
    let msg: SipMessage;
    try {
      msg = parseMessage(bytes, this.limits);
    } catch (err) {
      if (!(err instanceof SipParseError || err instanceof SipLimitError)) throw err;
      reject(this, err.kind, remote, err.message);
      const req = salvageRequest(bytes);
      const res = req && answerMalformed(req, err, (r) => stampReceived(r, remote));
      if (res) {
        this.stats.rejected++;
        this.sendResponse(res, remote);
        return 'answered';
      }
      this.stats.dropped++;
      return req ? 'dropped' : 'garbage';
    }
    if (msg instanceof SipRequest) stampReceived(msg, remote);
    this.#user?.receive(msg, remote, this);
    return 'delivered';
  }
}
