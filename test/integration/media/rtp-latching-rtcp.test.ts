import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { RtpSession, PortAllocator, RtpPacket, RtcpCompound, RtcpReceiverReport, RtcpSenderReport, RtcpSourceDescription, Pacer, PacedStream } from '../../../media/index.js';

import { until } from '../../support/wait.js';

describe('media RtpSession latching, loss and RTCP reports over real UDP', function () {
  this.timeout(20000);
  const ports = new PortAllocator(41200, 41299);
  const opened: RtpSession[] = [];
  const sockets: dgram.Socket[] = [];
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
    for (const s of sockets.splice(0)) s.close();
  });

  async function udp(port = 0): Promise<dgram.Socket> {
    const s = dgram.createSocket('udp4');
    sockets.push(s);
    await new Promise<void>((r) => s.bind(port, '127.0.0.1', () => r()));
    return s;
  }

  async function session(): Promise<[RtpSession, number]> {
    const p = ports.allocate();
    const s = await RtpSession.open({ port: p, bindAddress: '127.0.0.1', payloadType: 0, remote: { address: '127.0.0.1', port: 9 }, rtcpIntervalMs: 0 }, () => ports.release(p));
    opened.push(s);
    return [s, p];
  }

  const rtp = (seq: number, ssrc: number): Buffer => new RtpPacket(0, seq, seq * 160, ssrc, Buffer.alloc(160, seq & 0xff)).serialize();

  it('counts loss by sequence number and reports it in an RR (receiver only) with SDES', async () => {
    const [s, p] = await session();
    // the peer's RTP on an even port and its RTCP on the next one, as RFC 3550 §11 pairs them
    const pp = ports.allocate();
    const peerRtp = await udp(pp);
    const peerRtcp = await udp(pp + 1);
    for (const seq of [10, 11, 13, 14, 15]) peerRtp.send(rtp(seq, 0xdeadbeef), p, '127.0.0.1');
    await until(() => s.stats.received === 5, 'the five packets received');
    assert.equal(s.stats.lost, 1, 'seq 12 never arrived');
    const report = once(peerRtcp, 'message');
    s.sendReport();
    const [msg] = (await report) as [Buffer];
    const pkts = RtcpCompound.deSerialize(msg);
    const rr = pkts[0];
    assert.ok(rr instanceof RtcpReceiverReport, 'nothing sent yet, so RR rather than SR');
    assert.equal(rr.ssrc, s.ssrc);
    assert.equal(rr.reports[0]?.ssrc, 0xdeadbeef, 'SSRC read as unsigned');
    assert.equal(rr.reports[0]?.packetsLost, 1);
    assert.equal(rr.reports[0]?.highestSeq, 15);
    assert.ok(rr.reports[0]!.fractionLost > 0);
    assert.ok(pkts[1] instanceof RtcpSourceDescription);
    ports.release(pp);
  });

  it('sends an SR once it has sent media, and an SR from the peer sets LSR in our next report', async () => {
    const [s, p] = await session();
    const pp = ports.allocate();
    const peerRtp = await udp(pp);
    const peerRtcp = await udp(pp + 1);
    peerRtp.send(rtp(1, 0xdef), p, '127.0.0.1');
    await once(s, 'latched');
    const pacer = new Pacer();
    const st = new PacedStream(s);
    pacer.add(st);
    st.enqueue(Buffer.alloc(480, 0x7f));
    await until(() => s.stats.sent === 3, 'the three queued frames sent');
    pacer.remove(st);
    // the peer's SR reaches our RTCP port (p + 1)
    const theirSr = RtcpCompound.serialize([new RtcpSenderReport(0xdef, 3900000000, 0x12345678, 160, 1, 160, [])]);
    peerRtcp.send(theirSr, p + 1, '127.0.0.1');
    await once(s, 'rtcp');
    const report = once(peerRtcp, 'message');
    s.sendReport();
    const [msg] = (await report) as [Buffer];
    const sr = RtcpCompound.deSerialize(msg)[0];
    assert.ok(sr instanceof RtcpSenderReport);
    assert.equal(sr.packetCount, s.stats.sent);
    assert.ok(s.stats.sent >= 3);
    assert.equal(sr.reports[0]?.lsr, ((3900000000 & 0xffff) << 16 | 0x1234) >>> 0);
    ports.release(pp);
  });

  it('sends to an SDP address given as a host name (resolved, not only IP literals)', async () => {
    const peer = await udp();
    const p = ports.allocate();
    const s = await RtpSession.open({ port: p, bindAddress: '127.0.0.1', payloadType: 0, remote: { address: 'localhost', port: peer.address().port }, rtcpIntervalMs: 0 }, () => ports.release(p));
    opened.push(s);
    const got = once(peer, 'message');
    s.sendFrame(Buffer.alloc(160, 1), true);
    const [msg] = (await got) as [Buffer];
    assert.equal(RtpPacket.deSerialize(msg).ssrc, s.ssrc);
  });

  it('does not re-latch to another port sending the latched SSRC, but does for a new SSRC', async () => {
    const [s, p] = await session();
    const first = await udp();
    const hijack = await udp();
    const moved = await udp();
    first.send(rtp(1, 0x111), p, '127.0.0.1');
    await once(s, 'latched');
    // same SSRC from elsewhere within a second of the latched source: not adopted
    hijack.send(rtp(2, 0x111), p, '127.0.0.1');
    await until(() => s.stats.dropped.wrongSource === 1, 'the hijacking packet dropped');
    assert.equal(s.remoteAddress.port, first.address().port);
    // a new stream (new SSRC) from a new port, e.g. the SBC moved the media: adopted
    const relatch = once(s, 'latched');
    moved.send(rtp(500, 0x222), p, '127.0.0.1');
    const [where] = (await relatch) as [{ port: number }];
    assert.equal(where.port, moved.address().port);
    assert.equal(s.remoteAddress.port, moved.address().port);
  });
});
