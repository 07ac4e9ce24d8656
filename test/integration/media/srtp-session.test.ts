import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { RtpSession, PortAllocator, Pacer, PacedStream, RtpPacket, generateKeyingMaterial, SrtpContext } from '../../../media/index.js';
import type { DtmfDigit, SrtpSuiteName } from '../../../media/index.js';
import { until } from '../../support/wait.js';

describe('media RtpSession with SDES-SRTP over real UDP on 127.0.0.1', function () {
  this.timeout(20000);
  // A random range so parallel runs of other suites rarely meet ours; binding retries cover the rest.
  const base = 46000 + 2 * Math.floor(Math.random() * 4000);
  const ports = new PortAllocator(base, base + 99);
  const opened: RtpSession[] = [];
  const sockets: dgram.Socket[] = [];
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
    for (const s of sockets.splice(0)) s.close();
  });

  async function pair(suite: SrtpSuiteName): Promise<[RtpSession, RtpSession, Buffer[]]> {
    const ka = generateKeyingMaterial(suite);
    const kb = generateKeyingMaterial(suite);
    // A tap between a and b: what a sends passes through it, so the test sees the wire.
    const tap = dgram.createSocket('udp4');
    sockets.push(tap);
    await new Promise<void>((r) => tap.bind(0, '127.0.0.1', () => r()));
    const pa = ports.allocate();
    const pb = ports.allocate();
    const wire: Buffer[] = [];
    tap.on('message', (m) => {
      wire.push(Buffer.from(m));
      tap.send(m, pb, '127.0.0.1');
    });
    const a = await RtpSession.open({ port: pa, bindAddress: '127.0.0.1', payloadType: 0, telephoneEventPt: 101, remote: { address: '127.0.0.1', port: tap.address().port, rtcpPort: pb + 1 }, rtcpIntervalMs: 300, srtp: { local: ka, remote: kb } }, () => ports.release(pa));
    const b = await RtpSession.open({ port: pb, bindAddress: '127.0.0.1', payloadType: 0, telephoneEventPt: 101, remote: { address: '127.0.0.1', port: pa }, rtcpIntervalMs: 300, srtp: { local: kb, remote: ka } }, () => ports.release(pb));
    opened.push(a, b);
    return [a, b, wire];
  }

  for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'] as const) {
    it(`${suite}: audio, DTMF and RTCP cross encrypted; the wire never carries the plain payload`, async () => {
      const [a, b, wire] = await pair(suite);
      const pacer = new Pacer();
      const sa = new PacedStream(a);
      pacer.add(sa);
      const got: number[] = [];
      b.on('audio', (p: Buffer | null) => got.push(p ? p[0]! : -1));
      const digits: DtmfDigit[] = [];
      b.on('dtmf', (d: DtmfDigit) => digits.push(d));
      for (let i = 0; i < 10; i++) sa.enqueue(Buffer.alloc(160, 0x10 + i));
      await until(() => got.length >= 10, 'the ten frames delivered');
      await a.sendDtmf('7', 60);
      await until(() => digits.length === 2 && b.stats.rtcpReceived > 0, 'digit end and an SRTCP report (b latched to the tap, so its reports go astray)');
      pacer.remove(sa);
      assert.deepEqual(got.slice(0, 8), [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17]);
      assert.deepEqual(digits.map((d) => d.digit), ['7', '7']);
      const tag = suite.endsWith('80') ? 10 : 4;
      const audio = wire.filter((m) => m.length === 172 + tag);
      assert.ok(audio.length >= 10, `SRTP audio packets are 172 + ${tag} octets`);
      for (const m of audio) {
        const plain = RtpPacket.deSerialize(m.subarray(0, 172));
        assert.ok(!plain.payload.every((x) => x === plain.payload[0]), 'the payload is not our constant plain frame');
      }
      assert.equal(b.stats.dropped.srtpAuth ?? 0, 0);
    });
  }

  it('plain RTP, forged and replayed packets are dropped and counted, never played, and the call goes on', async () => {
    const [a, b, wire] = await pair('AES_CM_128_HMAC_SHA1_80');
    const got: number[] = [];
    b.on('audio', (p: Buffer | null) => { if (p) got.push(p[0]!); });
    const pacer = new Pacer();
    const sa = new PacedStream(a);
    pacer.add(sa);
    sa.enqueue(Buffer.alloc(160, 1));
    await until(() => got.length >= 1, 'first frame');
    const intruder = dgram.createSocket('udp4');
    sockets.push(intruder);
    const plain = new RtpPacket(0, 5, 800, 0xabcdef, Buffer.alloc(160, 0x99)).serialize();
    const wrongKey = Buffer.alloc(182);
    plain.copy(wrongKey);
    new SrtpContext(generateKeyingMaterial('AES_CM_128_HMAC_SHA1_80')).protect(wrongKey, 172);
    const replay = Buffer.from(wire.find((m) => m.length === 182)!);
    for (const m of [plain, wrongKey, replay, Buffer.alloc(3), Buffer.alloc(40, 0xff)]) intruder.send(m, b.port, '127.0.0.1');
    await until(() => (b.stats.dropped.srtpAuth ?? 0) >= 2 && (b.stats.dropped.srtpReplay ?? 0) >= 1 && b.stats.dropped.malformed >= 2, 'the five intruding packets counted');
    sa.enqueue(Buffer.alloc(160, 2));
    await until(() => got.includes(2), 'audio still flows');
    pacer.remove(sa);
    assert.ok(!got.includes(0x99), 'nothing of the intruder was played');
    assert.notEqual(b.remoteAddress.port, intruder.address().port, 'no latching to an unauthenticated source');
  });
});
