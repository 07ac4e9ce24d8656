export { Call, type CallDeps, type CallEndReason, type CallSnapshot, type CallState } from './call.js';
export { CallManager, type CallManagerOptions, type CallsView } from './call-manager.js';
export { findRoute, normaliseNumber, uriUser, type Route } from './route.js';
export { Playout } from './playout.js';
export { Dialer, type DialRequest, type DialerOptions } from './dial.js';
export { OutboundRecord, type OutboundView, type OutboundState } from './outbound-record.js';
export { TrunkCaps, type TrunkSlot } from './trunk-caps.js';
export { DialInvalidError, DialRefusedError } from './errors.js';
export type { OutboundEndReason } from './outbound-outcome.js';
