import type { SipRejectReason, SipTransportError } from '../errors.js';
import type { SipMessage, SipResponse } from '../message/index.js';

/** Where a message came from, or where one goes. */
export interface Peer {
  readonly address: string;
  readonly port: number;
}

/** A transport's name as written in Via (RFC 3261 §20.42, RFC 7118 §5.1). */
export type TransportProtocol = 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS';

/**
 * Who a TLS connection we open must be talking to (RFC 5922), and with what: the
 * transport's own client options apply where these say nothing.
 */
export interface TlsTarget {
  /**
   * The host name the peer's certificate must be valid for (SNI and the identity check,
   * SAN dNSName as Node matches it): the configured host, never the address DNS gave for it.
   * Absent: the address (an IP SAN).
   */
  readonly serverName?: string;
  /** CA certificates (PEM) to trust instead of the transport's (default: Node's bundle). */
  readonly ca?: string | readonly string[];
  /** Our client certificate (PEM, chain) and its key, for peers that ask for one. */
  readonly cert?: string;
  readonly key?: string;
}

/** A destination with an optional transport choice (a DNS target, a Contact's `;transport=`). */
export interface Destination extends Peer {
  readonly transport?: TransportProtocol | Lowercase<TransportProtocol>;
  /** Only read by the TLS transport. */
  readonly tls?: TlsTarget;
}

/**
 * Why a transport refused a message or a connection: a parse failure's kind,
 * or one of the connection rules of the stream transports.
 */
export type RejectReason = SipRejectReason
  /** More connections from one address than `maxConnectionsPerSource`. */
  | 'source-cap'
  /** More connections than `maxConnections`. */
  | 'connection-cap'
  /** A message (header block and body) not complete `messageTimeoutMs` after its first byte: a slow sender. */
  | 'message-timeout'
  /** A connection that never sent a valid message, silent for `unprovenIdleMs`. */
  | 'unproven-idle';

/** One refusal, as a transport reports it to whoever logs and counts (src/boot). */
export interface Rejection {
  readonly reason: RejectReason;
  readonly transport: TransportProtocol;
  readonly source: Peer;
  /** What was wrong, printable, at most ~100 characters. */
  readonly detail: string;
}

export interface TransportStats {
  received: number;
  sent: number;
  /** Malformed messages answered with 400. */
  rejected: number;
  /** Malformed messages that could not be answered and were dropped. */
  dropped: number;
  /** Refusals by reason (messages and, on streams, connections). */
  rejections: Partial<Record<RejectReason, number>>;
}

/** Counters of the connection-oriented transports (TCP, TLS, WS). */
export interface StreamTransportStats extends TransportStats {
  /** Connections open now. */
  connections: number;
  /** Connections accepted or opened since start. */
  opened: number;
  /** Connections we closed because the peer broke framing (garbage, bad Content-Length). */
  framingErrors: number;
  /** Connections we closed because a message (or the buffered bytes) went over the size limit. */
  oversize: number;
  /** Connections refused because `maxConnections` were open. */
  refused: number;
  /** Sends that found no usable connection (a WebSocket peer that left; a failed connect). */
  sendFailures: number;
}

/** The layer above (the UA core). */
export interface TransportUser {
  receive(message: SipMessage, source: Peer, transport: Transport): void;
}

/**
 * What every transport offers the layers above (SIP.js's two-member contract,
 * widened by what RFC 3261 §18 asks of a server: responses go back the way
 * the request came).
 */
export interface Transport {
  readonly protocol: TransportProtocol;
  /** §17: reliable transports need no retransmission timers (E, G) and no wait timers (D, I, J, K). */
  readonly reliable: boolean;
  readonly local: Peer;
  readonly stats: TransportStats;
  /** Told of every refusal, after it was counted in `stats.rejections`. */
  onReject?: ((r: Rejection) => void) | undefined;
  setUser(user: TransportUser): void;
  /**
   * A request (or a response with its own address); stream transports reuse
   * or open a connection to `to`. `onError` hears, asynchronously, that the
   * message could not be sent (§17.1.4: the transaction then fails at once
   * rather than at Timer F); UDP reports nothing.
   */
  send(message: SipMessage | Buffer, to: Destination, onError?: (err: SipTransportError) => void): void;
  /**
   * §18.2.2: a response to a request received from `source`. Stream transports
   * use the connection the request arrived on while it is open.
   */
  sendResponse(res: SipResponse, source?: Peer): void;
  close(): Promise<void>;
}

/** `[::1]` → `::1`: Via and URI hosts bracket IPv6 addresses, sockets do not. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export function peerKey(p: Peer): string {
  return `${p.address}|${p.port}`;
}

/** RFC 3581 §4 / RFC 3261 §18.2.1: note where a request came from in its top Via. */
export function stampReceived(req: SipMessage, source: Peer): void {
  const via = req.via[0];
  if (!via) return;
  if (bareHost(via.host) !== source.address || via.params.has('rport')) via.params.set('received', source.address);
  if (via.params.has('rport')) via.params.set('rport', String(source.port));
}

/** Counts a refusal in `stats.rejections` and tells the transport's listener. */
export function reject(t: Pick<Transport, 'protocol' | 'stats' | 'onReject'>, reason: RejectReason, source: Peer, detail: string): void {
  t.stats.rejections[reason] = (t.stats.rejections[reason] ?? 0) + 1;
  t.onReject?.({ reason, transport: t.protocol, source, detail: detail.slice(0, 100).replace(/[^\x20-\x7e]/g, '?') });
}
