/** Base for every media-layer error: a stable code plus context the caller can log. */
export type MediaErrorCode =
  | 'MEDIA_ERR_RTP_MALFORMED'
  | 'MEDIA_ERR_RTCP_MALFORMED'
  | 'MEDIA_ERR_DTMF_MALFORMED'
  | 'MEDIA_ERR_PORTS_EXHAUSTED'
  | 'MEDIA_ERR_PORT_RANGE'
  | 'MEDIA_ERR_SDP_MALFORMED'
  | 'MEDIA_ERR_SDP_NO_COMMON_CODEC'
  | 'MEDIA_ERR_WEBRTC_NO_CANDIDATE';

export class MediaError extends Error {
  constructor(
    readonly code: MediaErrorCode,
    message: string,
    readonly context: Record<string, unknown> = {},
  ) {
    super(`${code}: ${message}`);
    this.name = 'MediaError';
  }
}

export const isMediaError = (e: unknown, code?: MediaErrorCode): e is MediaError =>
  e instanceof MediaError && (code === undefined || e.code === code);
