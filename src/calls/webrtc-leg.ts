import {
  isMediaError, type CallMedia, type Negotiated, type PortAllocator, type SessionDescription, type WebRtcEndpoint,
} from '../../media/index.js';
import type { Logger } from '../log.js';

/** Same shape as the Call's SetupRefusal (kept apart so this file does not import call.ts back). */
export interface LegRefusal {
  status: number;
  reason: string;
  warning?: string;
}

export interface WebRtcLeg {
  media: CallMedia;
  sdp: string;
  negotiated: Negotiated;
}

/**
 * A browser's leg of a call: the same Call, the same agent, only the media transport differs.
 * Its port comes from the RTP allocator like a carrier leg's; a port another process holds is
 * skipped for the next, as for RTP.
 */
export async function openWebRtcLeg(
  endpoint: WebRtcEndpoint | undefined,
  ports: PortAllocator,
  offerText: string,
  offer: SessionDescription,
  log: Logger,
  fullIce?: boolean,
): Promise<WebRtcLeg | LegRefusal> {
  if (!endpoint) return { status: 488, reason: 'Not Acceptable Here', warning: 'WebRTC (UDP/TLS/RTP/SAVPF) is not enabled on this gateway' };
  for (let attempt = 1; ; attempt++) {
    let port: number;
    try {
      port = ports.allocate();
    } catch (err) {
      if (isMediaError(err)) return { status: 503, reason: 'Service Unavailable', warning: err.message };
      throw err;
    }
    try {
      const { session, sdp, plan } = await endpoint.answer(offerText, offer, port, () => ports.release(port), fullIce);
      session.once('connected', (ms: number) => log.debug({ dtlsMs: Math.round(ms), srtp: true }, 'webrtc: DTLS-SRTP up'));
      return {
        media: session,
        sdp,
        negotiated: {
          codec: plan.codec,
          telephoneEvent: plan.telephoneEvent,
          // ICE decides where media flows; the SDP's c= of a browser is a placeholder.
          remoteAddress: '',
          remotePort: 0,
          remoteRtcpPort: 0,
          direction: 'sendrecv',
          ptime: 20,
        },
      };
    } catch (err) {
      if (isMediaError(err, 'MEDIA_ERR_WEBRTC_NO_CANDIDATE') && attempt < 8) continue;
      if (isMediaError(err)) return { status: 488, reason: 'Not Acceptable Here', warning: err.message };
      throw err;
    }
  }
}

/**
 * `media.webrtcFullIce: auto`: full ICE and a passive DTLS answer for callers whose SIP stack runs in
 * a browser (sip.js, JsSIP: their User-Agent says so). A browser follows JSEP: it takes its DTLS role
 * from our answer before any DTLS, so our agent may connect first and listen, which saves libjuice's
 * 50 ms triggered check. Any other caller (a native stack such as libdatachannel may start DTLS
 * before it holds our answer) gets answer-only ICE and an active answer, which every offerer takes.
 */
export function fullIceFor(mode: boolean | 'auto', userAgent: string | undefined): boolean {
  if (mode !== 'auto') return mode;
  return userAgent !== undefined && /^(SIP\.js|JsSIP)\//i.test(userAgent.trim());
}
