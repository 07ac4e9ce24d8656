export { Call, type CallDeps, type CallEndReason, type CallSnapshot, type CallState } from './call.js';
export { CallManager, type CallManagerOptions, type CallsView, type Admitted, type RefusedAdmission } from './call-manager.js';
export { findRoute, normaliseNumber, uriUser, type Route } from './route.js';
export { Playout } from './playout.js';
export { Transfers, TransferTargetError, TransferStateError, TransferFailedError, type Dialer, type DialedLeg, type DialOptions, type TransferableCall, type TransferOutcome, type TransferStatus } from './transfer.js';
