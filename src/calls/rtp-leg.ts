import { RtpSession, type Negotiated, type Pacer, type PortAllocator } from '../../media/index.js';
import type { MediaConfig } from '../config/index.js';

export interface RtpLegDeps {
  media: MediaConfig;
  ports: PortAllocator;
  /** Absent for a leg nobody plays into (a transfer's bridged target). */
  pacer?: Pacer;
}

/**
 * A carrier leg's RTP session on `port`, toward what offer/answer settled. The
 * session owns the port from here: it gives it back when it closes (a failed
 * bind included).
 */
export function openRtpLeg(deps: RtpLegDeps, port: number, n: Negotiated, cname: string, release: () => void = () => deps.ports.release(port)): Promise<RtpSession> {
  const m = deps.media;
  return RtpSession.open({
    port,
    bindAddress: m.host,
    payloadType: n.codec.payloadType,
    telephoneEventPt: n.telephoneEvent?.payloadType ?? null,
    remote: { address: n.remoteAddress, port: n.remotePort, rtcpPort: n.remoteRtcpPort },
    // SDES keys when the offer/answer settled on RTP/SAVP: everything sent is protected, everything received authenticated.
    srtp: n.srtp ? { local: n.srtp.local, remote: n.srtp.remote } : null,
    timeoutMs: m.rtpTimeoutMs,
    cname,
    // Each arriving packet lets the shared pacer send what is due: under load, libuv serves
    // many ready sockets before it looks at timers, and frames would go out late.
    ...(deps.pacer && { pacer: deps.pacer }),
  }, release);
}
