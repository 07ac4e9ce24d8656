import type { OutgoingEnd } from '../../sip/index.js';
import type { CallEndReason } from './call.js';

/**
 * Why an outbound call ended, as the API and the call record say it. Before an answer: the
 * callee's or the network's failure (`busy`, `no-answer`, `rejected`, `not-found`,
 * `unavailable`, `failed` for any other final status), `auth-failed` (the trunk refused our
 * credentials), `transport-error` (nothing answered, or the trunk could not be reached),
 * `cancelled` (hung up through the API before the answer). After one: `remote-hangup` (the callee's
 * BYE), `hangup` (ours), or the call's own reason (`rtp-timeout`, `agent-failed`, `shutdown`…).
 */
export type OutboundEndReason =
  | 'busy' | 'no-answer' | 'rejected' | 'not-found' | 'unavailable' | 'failed' | 'auth-failed' | 'transport-error' | 'cancelled'
  | 'remote-hangup' | 'hangup' | 'shutdown' | 'setup-failed' | Exclude<CallEndReason, 'bye' | 'hangup' | 'cancel' | 'rejected'>;

/** A final failure status as a reason: 486/600 busy, 408/480 no-answer, 403/603 rejected, 404/484/604 not-found, 5xx unavailable. */
export function reasonForStatus(status: number): OutboundEndReason {
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480) return 'no-answer';
  if (status === 403 || status === 603) return 'rejected';
  if (status === 404 || status === 484 || status === 604 || status === 410) return 'not-found';
  if (status >= 500 && status < 600) return 'unavailable';
  if (status === 401 || status === 407) return 'auth-failed';
  return 'failed';
}

/** The reason for a call that ended before it was answered. */
export function reasonBeforeAnswer(end: OutgoingEnd): OutboundEndReason {
  switch (end.reason) {
    case 'failed': return reasonForStatus(end.status ?? 0);
    case 'auth-failed': return 'auth-failed';
    case 'no-answer': return 'no-answer';
    case 'transport': return 'transport-error';
    case 'cancelled': return 'cancelled';
    case 'shutdown': return 'shutdown';
    default: return 'failed';
  }
}

/** The reason for an answered call, from how the Call ended. */
export function reasonAfterAnswer(r: CallEndReason): OutboundEndReason {
  if (r === 'bye') return 'remote-hangup';
  if (r === 'hangup' || r === 'cancel') return 'hangup';
  if (r === 'rejected') return 'setup-failed';
  return r;
}
