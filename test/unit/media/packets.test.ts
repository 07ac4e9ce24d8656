import assert from 'node:assert/strict';
import {
  RtpPacket, RtcpCompound, RtcpSenderReport, RtcpReceiverReport, RtcpSourceDescription, RtcpBye,
  TelephoneEvent, isMediaError, writeRtpHeader, alawToUlaw, ulawToAlaw, pcmToUlaw, ulawToPcm, ulawEnergy,
} from '../../../media/index.js';

describe('media packets', () => {
  it('RTP round trips bytes → fields → bytes, with CSRC, extension and padding', () => {
    const bytes = Buffer.from('b08000070000a0000000beef00000001bede0001aabbccdd0102030000000003', 'hex');
    // V=2 P=1 X=1 CC=0? no: 0xb0 = 1011 0000 → V=2,P=1,X=1,CC=0
    const p = RtpPacket.deSerialize(bytes);
    assert.equal(p.payloadType, 0);
    assert.equal(p.marker, true);
    assert.equal(p.sequenceNumber, 7);
    assert.equal(p.timestamp, 0xa000);
    assert.equal(p.ssrc, 0xbeef);
    assert.equal(p.extension?.profile, 0);
    assert.equal(p.padding, 3);
    assert.deepEqual(p.serialize(), bytes);
  });

  it('RTP plain header with payload round trips', () => {
    const p = new RtpPacket(8, 65535, 0xffffffff, 0x12345678, Buffer.alloc(160, 0xd5), false, [1, 2]);
    const q = RtpPacket.deSerialize(p.serialize());
    assert.deepEqual({ ...q }, { ...p });
  });

  it('writeRtpHeader (the hot path) writes the same 12 octets as RtpPacket, at the edges of each field', () => {
    for (const [pt, marker, seq, ts, ssrc] of [[0, true, 65535, 0xffffffff, 0x80000001], [101, false, 0, 0, 0], [8, true, 0x1234, 0x89abcdef, 0xfedcba98]] as const) {
      const out = Buffer.alloc(12, 0xaa);
      writeRtpHeader(out, pt, marker, seq, ts, ssrc);
      assert.deepEqual(out, new RtpPacket(pt, seq, ts, ssrc, Buffer.alloc(0), marker).serialize());
    }
  });

  for (const [name, hex] of [
    ['too short', '8000'],
    ['version 1', '400000010000000000000001'],
    ['CSRC past end', '830000010000000000000001'],
    ['extension length past end', '900000010000000000000001bede0009'],
    ['padding count past header', 'a0000001000000000000000100ff'],
    ['padding count zero', 'a000000100000000000000010000'],
  ] as const) {
    it(`RTP rejects ${name} with MEDIA_ERR_RTP_MALFORMED`, () => {
      assert.throws(() => RtpPacket.deSerialize(Buffer.from(hex, 'hex')), (e) => isMediaError(e, 'MEDIA_ERR_RTP_MALFORMED'));
    });
  }

  it('RTCP compound SR+SDES+BYE round trips and RR with negative loss', () => {
    const block = { ssrc: 9, fractionLost: 25, packetsLost: -3, highestSeq: 70000, jitter: 12, lsr: 0xabcd1234, dlsr: 65536 };
    const pkts = [
      new RtcpSenderReport(1, 3900000000, 123456, 160, 50, 8000, [block]),
      new RtcpSourceDescription([{ ssrc: 1, items: [{ type: 1, text: 'warmline@host' }] }]),
      new RtcpBye([1], 'hangup'),
    ];
    const bytes = RtcpCompound.serialize(pkts);
    const back = RtcpCompound.deSerialize(bytes);
    assert.deepEqual(back, pkts);
    assert.deepEqual(RtcpCompound.serialize(back), bytes);
    const rr = RtcpCompound.deSerialize(RtcpCompound.serialize([new RtcpReceiverReport(5, [block])]));
    assert.deepEqual(rr, [new RtcpReceiverReport(5, [block])]);
  });

  it('RTCP rejects broken fixtures', () => {
    const good = RtcpCompound.serialize([new RtcpReceiverReport(5, [])]);
    for (const b of [Buffer.from('80', 'hex'), Buffer.concat([good, Buffer.from([0x80])]), (() => { const x = Buffer.from(good); x.writeUInt16BE(9, 2); return x; })(),
      (() => { const x = Buffer.from(good); x[0] = 0x40; return x; })(), (() => { const x = Buffer.from(good); x[0] = 0x81; return x; })()]) {
      assert.throws(() => RtcpCompound.deSerialize(b), (e) => isMediaError(e, 'MEDIA_ERR_RTCP_MALFORMED'));
    }
  });

  it('telephone-event round trips and rejects bad digits/short payloads', () => {
    const bytes = Buffer.from('0b8a0320', 'hex');
    const ev = TelephoneEvent.deSerialize(bytes);
    assert.equal(ev.digit, '#');
    assert.equal(ev.end, true);
    assert.equal(ev.volume, 10);
    assert.equal(ev.duration, 800);
    assert.deepEqual(ev.serialize(), bytes);
    assert.equal(TelephoneEvent.fromDigit('5').event, 5);
    assert.throws(() => TelephoneEvent.fromDigit('X'), (e) => isMediaError(e, 'MEDIA_ERR_DTMF_MALFORMED'));
    assert.throws(() => TelephoneEvent.deSerialize(Buffer.alloc(3)), (e) => isMediaError(e, 'MEDIA_ERR_DTMF_MALFORMED'));
  });

  it('G.711: PCMA↔PCMU keeps the signal and silence has no energy', () => {
    const pcm = new Int16Array(160).map((_, i) => Math.round(8000 * Math.sin(i / 5)));
    const u = pcmToUlaw(pcm);
    const back = ulawToPcm(alawToUlaw(ulawToAlaw(u)));
    for (let i = 0; i < pcm.length; i++) assert.ok(Math.abs(back[i]! - pcm[i]!) <= Math.max(64, Math.abs(pcm[i]!) / 8), `sample ${i}`);
    assert.equal(ulawEnergy(new Uint8Array(160).fill(0xff)), 0);
    assert.ok(ulawEnergy(u) > 3000);
  });
});
