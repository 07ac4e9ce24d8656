import assert from 'node:assert/strict';
import { RtcpCompound, RtcpReceiverReport, RtcpSenderReport, RtcpSourceDescription } from '../../../media/index.js';
import { RtpStatistics, type RtpSessionStats } from '../../../media/rtp/rtp-statistics.js';

const fresh = (): RtpSessionStats => ({
  received: 0, dropped: { malformed: 0, wrongPayloadType: 0, wrongSource: 0 }, lost: 0, jitter: 0,
  sent: 0, sentOctets: 0, rtcpReceived: 0, lastRemoteReport: null,
});

describe('RTP receiver statistics (RFC 3550 A.3, A.8) and the reports built from them', () => {
  // Across the sequence-number wrap, with seq 1 lost and two packets 5 and 10 ms late.
  const arrivals: Array<[seq: number, ts: number, atMs: number]> = [
    [65534, 0, 1000], [65535, 160, 1025], [0, 320, 1040], [2, 640, 1090], [3, 800, 1100],
  ];

  it('counts loss across the wrap and estimates jitter as the RFC\'s formula does', () => {
    const stats = fresh();
    const st = new RtpStatistics(stats, 1);
    // A.8 in floating point, computed here from the definition: J += (|D(i-1,i)| - J) / 16.
    let j = 0;
    let prevTransit = NaN;
    for (const [seq, ts, at] of arrivals) {
      stats.received++;
      st.track(seq, ts, at);
      const transit = at * 8 - ts;
      if (!Number.isNaN(prevTransit)) j += (Math.abs(transit - prevTransit) - j) / 16;
      prevTransit = transit;
    }
    assert.equal(stats.lost, 1, 'expected 65534…3 (6), received 5');
    assert.ok(Math.abs(stats.jitter - j) < 1, `jitter ${stats.jitter} against ${j.toFixed(3)}`);
    assert.equal(stats.jitter, 13);
  });

  it('reports an RR with the block A.3 defines (extended highest seq, fraction of the interval), then takes the peer\'s SR time for LSR', () => {
    const stats = fresh();
    const st = new RtpStatistics(stats, 1);
    for (const [seq, ts, at] of arrivals) {
      stats.received++;
      st.track(seq, ts, at);
    }
    const first = RtcpCompound.deSerialize(st.report(0xabc, 12345, 'me@here'));
    assert.deepEqual(first, [
      new RtcpReceiverReport(1, [{ ssrc: 0xabc, fractionLost: Math.floor(256 / 6), packetsLost: 1, highestSeq: 0x10003, jitter: 13, lsr: 0, dlsr: 0 }]),
      new RtcpSourceDescription([{ ssrc: 1, items: [{ type: 1, text: 'me@here' }] }]),
    ]);
    // The peer's SR: its NTP time's middle 32 bits become our LSR; its block about us is kept.
    const aboutUs = { ssrc: 1, fractionLost: 3, packetsLost: 7, highestSeq: 99, jitter: 4, lsr: 0, dlsr: 0 };
    st.absorb([new RtcpSenderReport(0xabc, 0x0102_0304, 0x0506_0708, 0, 10, 1600, [aboutUs])]);
    assert.equal(stats.rtcpReceived, 1);
    assert.deepEqual(stats.lastRemoteReport, aboutUs);
    // Now we have sent: an SR, and nothing new received means a zero fraction for the interval.
    stats.sent = 3;
    stats.sentOctets = 480;
    const [sr] = RtcpCompound.deSerialize(st.report(0xabc, 12345, 'me@here'));
    assert.ok(sr instanceof RtcpSenderReport);
    assert.equal(sr.rtpTimestamp, 12345);
    assert.equal(sr.packetCount, 3);
    assert.equal(sr.octetCount, 480);
    assert.equal(sr.reports[0]!.lsr, 0x0304_0506);
    assert.equal(sr.reports[0]!.fractionLost, 0);
    assert.ok(sr.reports[0]!.dlsr >= 0 && sr.reports[0]!.dlsr < 65536, `DLSR ${sr.reports[0]!.dlsr} (1/65536 s) since the SR just absorbed`);
  });

  it('has no report block before anything was received or without a source', () => {
    const stats = fresh();
    const st = new RtpStatistics(stats, 1);
    assert.deepEqual(RtcpCompound.deSerialize(st.report(0xabc, 0, 'x'))[0], new RtcpReceiverReport(1, []));
    stats.received++;
    st.track(10, 0, 0);
    assert.deepEqual(RtcpCompound.deSerialize(st.report(null, 0, 'x'))[0], new RtcpReceiverReport(1, []));
  });
});
