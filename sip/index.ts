// The SIP stack's public face: messages → transport → transactions → dialogs → UA core.
export * from './message/index.js';
export { UdpTransport } from './transport/udp-transport.js';
export { TcpTransport } from './transport/tcp-transport.js';
export { TlsTransport, type TlsTransportOptions } from './transport/tls-transport.js';
export { WsTransport, SIP_WS_PROTOCOL, type WsTransportOptions } from './transport/ws-transport.js';
export { StreamTransport, type StreamTransportOptions } from './transport/stream-transport.js';
export { StreamFramer, type Frame } from './transport/stream-framer.js';
export type { Peer, Destination, Transport, TransportProtocol, TransportStats, StreamTransportStats, TransportUser } from './transport/transport.js';
export { ServerTransaction, type ServerState } from './transaction/server-transaction.js';
export { ClientTransaction, type RequestSender, type ClientTransactionUser } from './transaction/client-transaction.js';
export { InviteClientTransaction, buildNonSuccessAck, type InviteClientState } from './transaction/invite-client-transaction.js';
export { DEFAULT_TIMERS, timers, type TimerBase } from './transaction/timers.js';
export { TimerSet, WaitQueue } from './transaction/timer-set.js';
export { serverKey, invitedKey, clientKey, MAGIC_COOKIE } from './transaction/matching.js';
export { UserAgent, type UserAgentOptions, type Refusal, type UserAgentStats } from './ua/user-agent.js';
export { IncomingCall, type CallState, type EndReason, type CallOwner } from './ua/incoming-call.js';
export { DEFAULT_SESSION_TIMERS, negotiateSession, readSessionExpires, type SessionTimerOptions, type SessionNegotiation } from './ua/session-timer.js';
export { SipError, SipParseError, SipLimitError, SipTransportError, SipTimeoutError } from './errors.js';
