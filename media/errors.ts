/**
 * The error catalogue of the media layer (codes MEDIA_ERR_…). media/ never imports from src/, so
 * it has its own base with the same shape as src/errors.ts: a stable `code`, a message, the
 * `context` that produced it and, when another error caused it, `cause` (pass `{ cause }` last).
 *
 * Every code is listed here with its meaning and documented in docs/errors.md (code, meaning,
 * how to solve); test/unit/docs/error-codes.test.ts keeps code, catalogue and docs in step.
 */
export const mediaErrorCodes = {
  MEDIA_ERR_RTP_MALFORMED: 'an RTP packet RFC 3550 §A.1 says a receiver must reject',
  MEDIA_ERR_RTCP_MALFORMED: 'an RTCP compound packet that cannot be parsed',
  MEDIA_ERR_DTMF_MALFORMED: 'an RFC 4733 telephone-event payload or digit that is not valid',
  MEDIA_ERR_PORTS_EXHAUSTED: 'every RTP port pair of the configured range is in use',
  MEDIA_ERR_PORT_RANGE: 'an RTP port range that holds no even/odd pair',
  MEDIA_ERR_SDP_MALFORMED: 'an SDP body that cannot be parsed',
  MEDIA_ERR_SDP_NO_COMMON_CODEC: 'an offer with no audio stream, transport or codec we can answer',
  MEDIA_ERR_SDP_NO_COMMON_CRYPTO: 'an RTP/SAVP offer (or answer) whose a=crypto lines name no suite, key or parameters we can honour',
  MEDIA_ERR_SDP_SRTP_POLICY: "an offer whose transport the trunk's SRTP policy refuses (RTP/SAVP with policy off, RTP/AVP with policy required)",
  MEDIA_ERR_WEBRTC_NO_CANDIDATE: "a browser call's port could not be bound for ICE (the call takes the next port)",
} as const;

export type MediaErrorCode = keyof typeof mediaErrorCodes;

export class MediaError extends Error {
  readonly code: MediaErrorCode;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: MediaErrorCode, message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    // The code stays in the message: media errors are often logged by message alone.
    super(`${code}: ${message}`, options);
    this.code = code;
    this.context = context;
    this.name = new.target.name;
  }
}

export const isMediaError = (e: unknown, code?: MediaErrorCode): e is MediaError =>
  e instanceof MediaError && (code === undefined || e.code === code);
