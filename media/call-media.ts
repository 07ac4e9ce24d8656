import type { DtmfDigit } from './rtp/dtmf.js';
import type { PacedSink } from './pacer.js';

/** Counters both media transports keep, in RTP terms (after SRTP on a WebRTC leg). */
export interface CallMediaStats {
  received: number;
  /** srtpAuth/srtpReplay: SDES-SRTP packets refused (carrier legs with RTP/SAVP only). */
  dropped: { malformed: number; wrongPayloadType: number; wrongSource: number; srtpAuth?: number; srtpReplay?: number };
  lost: number;
  sent: number;
}

/**
 * What a call needs from its media, whichever transport carries it: a carrier's plain RTP
 * (RtpSession) or a browser's DTLS-SRTP (WebRtcSession). One call model, two transports.
 *
 * Events: 'audio' (payload, or null for a lost 20 ms frame), 'dtmf' (RFC 4733 digit),
 * 'timeout' (the peer went silent or its transport failed), 'close'.
 */
export interface CallMedia extends PacedSink {
  /** Our local port (for RTP also RTCP = port + 1). */
  readonly port: number;
  readonly remoteAddress: { address: string; port: number };
  readonly stats: CallMediaStats;
  sendDtmf(digit: string, durationMs?: number): Promise<void>;
  /** Idempotent; gives the port back once. */
  close(): void;
  on(event: 'audio', listener: (payload: Buffer | null) => void): this;
  on(event: 'dtmf', listener: (digit: DtmfDigit) => void): this;
  on(event: 'timeout' | 'close', listener: () => void): this;
}
