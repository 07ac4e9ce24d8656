import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { RtpSession, PortAllocator, Pacer, PacedStream, RtpPacket } from '../../../media/index.js';
import type { DtmfDigit } from '../../../media/index.js';

import { until } from '../../support/wait.js';

describe('media RtpSession over real UDP on 127.0.0.1', function () {
  this.timeout(20000);
  const ports = new PortAllocator(41000, 41099);
  const opened: RtpSession[] = [];
  const sockets: dgram.Socket[] = [];
  afterEach(() => {
    for (const s of opened.splice(0)) s.close();
    for (const s of sockets.splice(0)) s.close();
  });

  async function pair(): Promise<[RtpSession, RtpSession]> {
    const pa = ports.allocate();
    const pb = ports.allocate();
    const a = await RtpSession.open({ port: pa, bindAddress: '127.0.0.1', payloadType: 0, telephoneEventPt: 101, remote: { address: '127.0.0.1', port: pb }, rtcpIntervalMs: 300 }, () => ports.release(pa));
    const b = await RtpSession.open({ port: pb, bindAddress: '127.0.0.1', payloadType: 0, telephoneEventPt: 101, remote: { address: '127.0.0.1', port: pa }, rtcpIntervalMs: 300 }, () => ports.release(pb));
    opened.push(a, b);
    return [a, b];
  }

  it('two sessions exchange paced audio, DTMF and RTCP reports; close is idempotent and releases ports', async () => {
    const [a, b] = await pair();
    const pacer = new Pacer();
    const sa = new PacedStream(a);
    pacer.add(sa);
    const got: number[] = [];
    b.on('audio', (p: Buffer | null) => got.push(p ? p[0]! : -1));
    const digits: DtmfDigit[] = [];
    b.on('dtmf', (d: DtmfDigit) => digits.push(d));
    for (let i = 0; i < 10; i++) sa.enqueue(Buffer.alloc(160, i));
    await until(() => got.length >= 10, 'the ten frames delivered');
    await a.sendDtmf('5', 60);
    // Reports every 150–450 ms (RFC 3550's randomised interval around 300).
    await until(() => digits.length === 2 && b.stats.rtcpReceived > 0 && a.stats.lastRemoteReport !== null, 'the digit\'s end and both sides\' reports');
    pacer.remove(sa);
    assert.deepEqual(got.slice(0, 8), [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(digits.map((d) => [d.digit, d.end]), [['5', false], ['5', true]]);
    assert.ok(b.stats.rtcpReceived > 0 && a.stats.rtcpReceived > 0);
    assert.equal(a.stats.lastRemoteReport?.packetsLost, 0);
    const inUse = ports.inUse;
    a.close();
    a.close();
    assert.equal(ports.inUse, inUse - 1);
  });

  it('latches to a different source port, counts garbage while audio keeps flowing, and times out', async () => {
    const p = ports.allocate();
    const s = await RtpSession.open({ port: p, bindAddress: '127.0.0.1', payloadType: 0, remote: { address: '127.0.0.1', port: 9 }, rtcpIntervalMs: 0, timeoutMs: 400 }, () => ports.release(p));
    opened.push(s);
    const peer = dgram.createSocket('udp4');
    sockets.push(peer);
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    const latched = once(s, 'latched');
    const timedOut = once(s, 'timeout');
    const frames: number[] = [];
    s.on('audio', (f: Buffer | null) => f && frames.push(f[0]!));
    const garbage = [Buffer.alloc(3), Buffer.from('400000010000000000000001', 'hex'), new RtpPacket(96, 1, 0, 7, Buffer.alloc(160)).serialize(),
      Buffer.from('900000010000000000000001bede0009', 'hex'), Buffer.from('a0000001000000000000000100', 'hex')];
    for (let i = 0; i < 6; i++) {
      peer.send(new RtpPacket(0, 100 + i, i * 160, 42, Buffer.alloc(160, i)).serialize(), p, '127.0.0.1');
      peer.send(garbage[i % garbage.length]!, p, '127.0.0.1');
    }
    const [where] = (await latched) as [{ port: number }];
    assert.equal(where.port, peer.address().port);
    assert.equal(s.remoteAddress.port, peer.address().port);
    await until(() => frames.length === 6 && s.stats.dropped.malformed + s.stats.dropped.wrongPayloadType === 6, 'six frames delivered and six datagrams dropped');
    assert.deepEqual(frames, [0, 1, 2, 3, 4, 5]);
    // our answer goes to the latched port
    const echo = once(peer, 'message');
    s.sendFrame(Buffer.alloc(160, 9), true);
    const [msg] = (await echo) as [Buffer];
    assert.equal(RtpPacket.deSerialize(msg).marker, true);
    await timedOut;
  });

  it('strict mode ignores packets from another address', async () => {
    const p = ports.allocate();
    const s = await RtpSession.open({ port: p, bindAddress: '127.0.0.1', payloadType: 0, strict: true, remote: { address: '127.0.0.5', port: 9 }, rtcpIntervalMs: 0 }, () => ports.release(p));
    opened.push(s);
    const peer = dgram.createSocket('udp4');
    sockets.push(peer);
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    peer.send(new RtpPacket(0, 1, 0, 42, Buffer.alloc(160)).serialize(), p, '127.0.0.1');
    await until(() => s.stats.dropped.wrongSource === 1, 'the packet from the wrong address dropped');
    assert.equal(s.stats.received, 0);
  });
});
