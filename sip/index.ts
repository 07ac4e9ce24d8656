// The SIP stack's public face: messages → transport → transactions → dialogs → UA core.
export * from './message/index.js';
export { UdpTransport, type Peer, type TransportStats, type TransportUser } from './transport/udp-transport.js';
export { ServerTransaction, type ServerState } from './transaction/server-transaction.js';
export { ClientTransaction } from './transaction/client-transaction.js';
export { DEFAULT_TIMERS, timers, type TimerBase } from './transaction/timers.js';
export { UserAgent, type UserAgentOptions, type Refusal, type UserAgentStats } from './ua/user-agent.js';
export { IncomingCall, type CallState, type EndReason } from './ua/incoming-call.js';
export { SipError, SipParseError, SipLimitError, SipTransportError, SipTimeoutError } from './errors.js';
