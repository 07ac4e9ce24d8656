import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { SipLimitError, SipParseError, SipTransportError } from '../errors.js';
import { parseMessage, responseToMalformed, DEFAULT_LIMITS, type ParseLimits, SipRequest, type SipMessage, type SipResponse } from '../message/index.js';
import { bareHost, reject, stampReceived, type Peer, type Rejection, type Transport, type TransportStats, type TransportUser } from './transport.js';

export type { Peer, TransportStats, TransportUser } from './transport.js';

export interface UdpOptions {
  /**
   * SO_RCVBUF in bytes: room for datagrams that arrive while the event loop is busy (a flood).
   * The kernel caps it at net.core.rmem_max (and doubles what it grants, for its bookkeeping).
   * Absent: the system default (net.core.rmem_default).
   */
  receiveBufferBytes?: number;
  /**
   * Looked at before a datagram is parsed: false drops it unparsed and unanswered (counted in
   * stats.dropped). The edge's cheap early checks (sip/edge/early-drop.ts) go here.
   */
  admit?: (source: Peer, datagram: Buffer) => boolean;
}


/**
 * SIP over UDP (RFC 3261 §18). Incoming requests get `received` and, when the
 * client asked with `rport`, the source port (RFC 3581), so that responses go
 * back where the request really came from through NAT. Malformed datagrams get
 * 400 when enough of them could be read, else they are dropped and counted:
 * never a crash.
 */
export class UdpTransport implements Transport {
  readonly protocol = 'UDP' as const;
  readonly reliable = false;
  readonly stats: TransportStats = { received: 0, sent: 0, rejected: 0, dropped: 0, rejections: {} };
  onReject: ((r: Rejection) => void) | undefined;
  readonly #socket: Socket;
  readonly #limits: ParseLimits;
  readonly #admit: UdpOptions['admit'];
  #user: TransportUser | undefined;
  #local: Peer = { address: '', port: 0 };

  private constructor(socket: Socket, limits: ParseLimits, admit: UdpOptions['admit']) {
    this.#socket = socket;
    this.#limits = limits;
    this.#admit = admit;
    socket.on('message', (buf, rinfo) => this.#onDatagram(buf, { address: rinfo.address, port: rinfo.port }));
    // A send error (ICMP unreachable) must not take the stack down.
    socket.on('error', () => {});
  }

  static async bind(host: string, port: number, limits: ParseLimits = DEFAULT_LIMITS, options: UdpOptions = {}): Promise<UdpTransport> {
    const socket = createSocket({ type: isIP(host) === 6 ? 'udp6' : 'udp4', reuseAddr: false, ...(options.receiveBufferBytes !== undefined && { recvBufferSize: options.receiveBufferBytes }) });
    const t = new UdpTransport(socket, limits, options.admit);
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

  /** SO_RCVBUF as the kernel granted it (twice what was asked, capped by net.core.rmem_max). */
  get receiveBufferBytes(): number {
    return this.#socket.getRecvBufferSize();
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
    const address = via.params.get('received') || bareHost(via.host);
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
    if (this.#admit && !this.#admit(source, buf)) {
      this.stats.dropped++;
      return;
    }
    let msg: SipMessage;
    try {
      msg = parseMessage(buf, this.#limits);
    } catch (err) {
      if (!(err instanceof SipParseError || err instanceof SipLimitError)) throw err;
      reject(this, err.kind, source, err.message);
      const res = responseToMalformed(buf, err, (req) => stampReceived(req, source));
      if (res) {
        this.stats.rejected++;
        this.sendResponse(res);
      } else {
        this.stats.dropped++;
      }
      return;
    }
    if (msg instanceof SipRequest) stampReceived(msg, source);
    this.#user?.receive(msg, source, this);
  }
}
