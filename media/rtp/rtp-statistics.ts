import { RtcpCompound, RtcpReceiverReport, RtcpSenderReport, RtcpSourceDescription, ntpFromMs, ntpMiddle } from './rtcp.js';
import type { ReportBlock, RtcpPacket } from './rtcp.js';

export interface RtpSessionStats {
  received: number;
  /** srtpAuth: SRTP/SRTCP packets whose tag did not verify; srtpReplay: replayed or too old (RFC 3711 §3.3.2). */
  dropped: { malformed: number; wrongPayloadType: number; wrongSource: number; srtpAuth?: number; srtpReplay?: number };
  lost: number;
  jitter: number;
  sent: number;
  sentOctets: number;
  rtcpReceived: number;
  lastRemoteReport: ReportBlock | null;
}

/**
 * The RTCP side of one RTP session: RFC 3550's receiver statistics (A.3 loss, A.8 interarrival
 * jitter) kept per packet, the SR/RR + SDES compound built from them, and what the peer's
 * reports tell us (LSR/DLSR for its round-trip estimate, its view of our stream). The socket
 * I/O stays in RtpSession; this is the arithmetic, on the session's `stats` object.
 */
export class RtpStatistics {
  private baseSeq = -1;
  private maxSeq = 0;
  private cycles = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private transit = NaN;
  private jitterQ4 = 0;
  private lsr = 0;
  private lsrAt = 0;

  constructor(private readonly stats: RtpSessionStats, private readonly ssrc: number) {}

  /** One accepted RTP packet (after stats.received was counted). */
  track(seq: number, ts: number, nowMs: number): void {
    if (this.baseSeq < 0) {
      this.baseSeq = seq;
      this.maxSeq = seq;
    } else if (((seq - this.maxSeq) & 0xffff) < 3000) {
      if (seq < this.maxSeq) this.cycles += 0x10000;
      this.maxSeq = seq;
    }
    // RFC 3550 A.8: D = (Rj - Ri) - (Sj - Si); J += (|D| - J) / 16, in timestamp units.
    const arrival = nowMs * 8;
    const transit = arrival - ts;
    if (!Number.isNaN(this.transit)) {
      let d = transit - this.transit;
      if (d < 0) d = -d;
      this.jitterQ4 += d - ((this.jitterQ4 + 8) >> 4);
    }
    this.transit = transit;
    this.stats.jitter = this.jitterQ4 >> 4;
    // RFC 3550 A.3 cumulative loss, kept live so a caller reading stats at hang-up sees it.
    const lost = this.cycles + this.maxSeq - this.baseSeq + 1 - this.stats.received;
    this.stats.lost = lost > 0 ? lost : 0;
  }

  /** The report block about the source we receive from (null before anything was received). */
  private reportBlock(sourceSsrc: number | null): ReportBlock | null {
    if (this.baseSeq < 0 || sourceSsrc === null) return null;
    const extMax = this.cycles + this.maxSeq;
    const expected = extMax - this.baseSeq + 1;
    const lost = expected - this.stats.received;
    const expInt = expected - this.expectedPrior;
    const recInt = this.stats.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.stats.received;
    const lostInt = expInt - recInt;
    this.stats.lost = Math.max(0, lost);
    return {
      ssrc: sourceSsrc,
      fractionLost: expInt === 0 || lostInt <= 0 ? 0 : Math.floor((lostInt << 8) / expInt),
      packetsLost: lost,
      highestSeq: extMax >>> 0,
      jitter: this.jitterQ4 >> 4,
      lsr: this.lsr,
      // DLSR in units of 1/65536 s since the last SR arrived.
      dlsr: this.lsrAt ? Math.floor(((Date.now() - this.lsrAt) / 1000) * 65536) : 0,
    };
  }

  /** An SR (if we have sent) or RR, plus SDES CNAME, as one compound packet. */
  report(sourceSsrc: number | null, rtpTimestamp: number, cname: string): Buffer {
    const block = this.reportBlock(sourceSsrc);
    const blocks = block ? [block] : [];
    const pkts: RtcpPacket[] = [];
    if (this.stats.sent > 0) {
      const ntp = ntpFromMs(Date.now());
      pkts.push(new RtcpSenderReport(this.ssrc, ntp.sec, ntp.frac, rtpTimestamp, this.stats.sent, this.stats.sentOctets, blocks));
    } else pkts.push(new RtcpReceiverReport(this.ssrc, blocks));
    pkts.push(new RtcpSourceDescription([{ ssrc: this.ssrc, items: [{ type: 1, text: cname }] }]));
    return RtcpCompound.serialize(pkts);
  }

  /** The peer's compound report: its last SR's time (for our LSR/DLSR) and its block about us. */
  absorb(pkts: RtcpPacket[]): void {
    this.stats.rtcpReceived++;
    for (const p of pkts) {
      if (p instanceof RtcpSenderReport) {
        this.lsr = ntpMiddle(p.ntpSec, p.ntpFrac);
        this.lsrAt = Date.now();
      }
      if (p instanceof RtcpSenderReport || p instanceof RtcpReceiverReport) {
        const mine = p.reports.find((b) => b.ssrc === this.ssrc);
        if (mine) this.stats.lastRemoteReport = mine;
      }
    }
  }
}
