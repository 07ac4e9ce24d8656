import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { SipLimitError, SipParseError, SipTransportError } from '../errors.js';
import { createResponse, parseMessage, salvageRequest, DEFAULT_LIMITS, type ParseLimits, SipRequest, type SipMessage, type SipResponse } from '../message/index.js';

/** Where a message came from, or where one goes. */
export interface Peer {
  readonly address: string;
  readonly port: number;
}

export interface TransportStats {
  received: number;
  sent: number;
  /** Malformed messages answered with 400. */
  rejected: number;
  /** Malformed messages that could not be answered and were dropped. */
  dropped: number;
}

export interface TransportUser {
  receive(message: SipMessage, source: Peer, transport: UdpTransport): void;
}

/**
 * SIP over UDP (RFC 3261 §18). Incoming requests get `received` and, when the
 * client asked with `rport`, the source port (RFC 3581), so that responses go
 * back where the request really came from through NAT. Malformed datagrams get
 * 400 when enough of them could be read, else they are dropped and counted:
 * never a crash.
 */
export class UdpTransport {
  readonly protocol = 'UDP';
  readonly reliable = false;
  readonly stats: TransportStats = { received: 0, sent: 0, rejected: 0, dropped: 0 };
  readonly #socket: Socket;
  readonly #limits: ParseLimits;
  #user: TransportUser | undefined;
  #local: Peer = { address: '', port: 0 };

  private constructor(socket: Socket, limits: ParseLimits) {
    this.#socket = socket;
    this.#limits = limits;
    socket.on('message', (buf, rinfo) => this.#onDatagram(buf, { address: rinfo.address, port: rinfo.port }));
    // A send error (ICMP unreachable) must not take the stack down.
    socket.on('error', () => {});
  }

  static async bind(host: string, port: number, limits: ParseLimits = DEFAULT_LIMITS): Promise<UdpTransport> {
    const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', reuseAddr: false });
    const t = new UdpTransport(socket, limits);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err) => reject(new SipTransportError(`cannot bind UDP ${host}:${port}: ${err.message}`, { host, port }, { cause: err })));
      socket.bind(port, host, () => resolve());
    });
    const a = socket.address();
    t.#local = { address: a.address, port: a.port };
    return t;
  }

  get local(): Peer {
    return this.#local;
  }

  setUser(user: TransportUser): void {
    this.#user = user;
  }

  send(message: SipMessage | Buffer, to: Peer): void {
    const buf = Buffer.isBuffer(message) ? message : message.toBuffer();
    this.stats.sent++;
    this.#socket.send(buf, to.port, to.address);
  }

  /** §18.2.2 with RFC 3581: to `received` (else the Via host), at `rport` (else the Via port, else 5060). */
  sendResponse(res: SipResponse): void {
    const via = res.via[0];
    if (!via) return;
    const address = via.params.get('received') || via.host.replace(/^\[|\]$/g, '');
    const rport = via.params.get('rport');
    const port = rport ? Number(rport) : via.port ?? 5060;
    this.send(res, { address, port });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }

  #onDatagram(buf: Buffer, source: Peer): void {
    // RFC 5626 keepalives (CRLF) on UDP are answered by nothing.
    if (buf.length <= 4 && buf.toString('latin1').trim() === '') return;
    this.stats.received++;
    let msg: SipMessage;
    try {
      msg = parseMessage(buf, this.#limits);
    } catch (err) {
      if (!(err instanceof SipParseError || err instanceof SipLimitError)) throw err;
      const req = salvageRequest(buf);
      if (req && req.method !== 'ACK') {
        this.stats.rejected++;
        this.#stamp(req, source);
        this.sendResponse(createResponse(req, 400, { reason: `Bad Request (${err.message.replace(/^malformed SIP message: /, '').slice(0, 80)})` }));
      } else {
        this.stats.dropped++;
      }
      return;
    }
    if (msg instanceof SipRequest) this.#stamp(msg, source);
    this.#user?.receive(msg, source, this);
  }

  /** RFC 3581 §4 / RFC 3261 §18.2.1: note where the request came from in its top Via. */
  #stamp(req: SipMessage, source: Peer): void {
    const via = req.via[0];
    if (!via) return;
    if (via.host.replace(/^\[|\]$/g, '') !== source.address || via.params.has('rport')) via.params.set('received', source.address);
    if (via.params.has('rport')) via.params.set('rport', String(source.port));
  }
}
