import type { RtpSessionStats } from '../../media/index.js';
import type { TurnRecord } from '../agent/index.js';
import type { CallContext } from './call-context.js';
import type { TransferStatus } from './transfer.js';

/** How a call ended. The SIP reasons come from the dialog; the rest are ours. */
export type CallEndReason =
  | 'bye' | 'cancel' | 'hangup' | 'rejected' | 'ack-timeout' | 'prack-timeout' | 'session-expired'
  | 'rtp-timeout' | 'shutdown' | 'setup-failed' | 'agent-failed' | 'transferred'
  /** Our delayed-offer 200 was ACKed without a usable answer (RFC 3264 §5): we sent BYE. */
  | 'bad-answer';

export type CallState = 'setup' | 'active' | 'ended';

/** What /api/calls shows for one call. */
export interface CallSnapshot {
  id: string;
  callId: string;
  did: string;
  caller: string;
  agent: string;
  /** Whose call (src/tenants); absent where tenants are not in play. */
  tenant?: string;
  /** The region its upstreams came from (src/boot/regions.ts); absent with no regions. */
  region?: string;
  /** The region it would have used had that one been alive: present when the call failed over. */
  failedOverFrom?: string;
  state: CallState;
  startedAt: string;
  durationMs: number;
  codec: string | undefined;
  /** Our RTP port (RTCP = +1), as written in the SDP answer. */
  localPort: number | undefined;
  remote: { address: string; port: number } | undefined;
  rtp: Pick<RtpSessionStats, 'received' | 'sent' | 'lost' | 'dropped'> | undefined;
  turns: TurnRecord[];
  /** What each side said, in order. */
  transcript: Array<{ from: 'caller' | 'agent'; text: string }>;
  /** 'webrtc' for a browser's DTLS-SRTP leg, 'rtp' for a carrier's. */
  media: 'rtp' | 'webrtc';
  /** The SIP transport the INVITE came over (a browser's is WS or WSS). */
  sipTransport: 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS';
  /** The INVITE carried no SDP: our offer went in the 200, the answer came in the ACK. */
  delayedOffer: boolean;
  /** X- headers, Diversion and (from trusted sources) P-Asserted-Identity of the INVITE. */
  context: CallContext;
  endReason: CallEndReason | undefined;
  /** A transfer to a person, once one was asked for: where to and how far it got. */
  transfer?: TransferStatus;
}

export interface CallEvents {
  turn: [TurnRecord];
  ended: [reason: CallEndReason];
}

/** A SIP failure response chosen during setup, so the caller hears why. */
export interface SetupRefusal {
  status: number;
  reason: string;
  warning?: string;
}

