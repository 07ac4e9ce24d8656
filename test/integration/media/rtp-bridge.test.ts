import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { PortAllocator, RtpBridge, RtpPacket, RtpSession, TelephoneEvent, ulawToAlaw, writeRtpHeader, type G711 } from '../../../media/index.js';
import { until } from '../../support/wait.js';

interface Got { pt: number; seq: number; ts: number; ssrc: number; marker: boolean; payload: Buffer }

/** A phone on one leg: a real UDP socket that sends RTP to its session and keeps what comes back. */
class Phone {
  readonly got: Got[] = [];
  #seq = 500;
  #ts = 1000;
  private constructor(readonly socket: dgram.Socket, readonly ssrc: number) {
    socket.on('message', (m) => {
      const p = RtpPacket.deSerialize(m);
      this.got.push({ pt: p.payloadType, seq: p.sequenceNumber, ts: p.timestamp, ssrc: p.ssrc, marker: p.marker, payload: Buffer.from(p.payload) });
    });
  }
  static async open(ssrc: number): Promise<Phone> {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    return new Phone(s, ssrc);
  }
  get port(): number { return this.socket.address().port; }
  send(to: number, pt: number, payload: Buffer, marker = false, ts = this.#ts): void {
    const b = Buffer.allocUnsafe(12 + payload.length);
    writeRtpHeader(b, pt, marker, this.#seq, ts, this.ssrc);
    payload.copy(b, 12);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.socket.send(b, to, '127.0.0.1');
  }
  /** `n` frames of `size` bytes, paced at 20 ms. */
  async talk(to: number, pt: number, frames: Buffer[]): Promise<void> {
    for (const f of frames) {
      this.send(to, pt, f);
      this.#ts = (this.#ts + f.length) >>> 0;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  async digit(to: number, digit: string): Promise<void> {
    const start = this.#ts;
    for (let d = 160; d <= 800; d += 160) {
      this.send(to, 101, TelephoneEvent.fromDigit(digit, 10, d, d === 800).serialize(), d === 160, start);
      await new Promise((r) => setTimeout(r, 20));
    }
    this.#ts = (this.#ts + 800) >>> 0;
  }
}

/** Distinct frames with a counter in the first byte, so order and content can be checked. */
const frames = (n: number, size = 160) => Array.from({ length: n }, (_, i) => Buffer.alloc(size, 0x10 + (i % 0x60)));

/**
 * The fallback transfer's media path: two RTP sessions (the caller's leg and
 * the dialed target's) on real UDP, joined by RtpBridge, with a phone on each
 * side. The bridge must keep each leg's own RTP identity and convert only
 * when the legs' G.711 laws differ.
 */
describe('media: RtpBridge joins two real RTP legs', function () {
  this.timeout(20_000);
  const base = 42000 + ((process.pid * 13) % 4000) * 2;
  const ports = new PortAllocator(base, base + 99);
  const cleanup: Array<() => void> = [];
  afterEach(() => { for (const c of cleanup.splice(0)) c(); });

  async function legs(codecA: G711, codecB: G711, timeoutMs = 0) {
    const [pa, pb] = [await Phone.open(0xaaaa0001), await Phone.open(0xbbbb0002)];
    const open = async (codec: G711, phone: Phone) => {
      const port = ports.allocate();
      const s = await RtpSession.open({ port, bindAddress: '127.0.0.1', payloadType: codec === 'PCMU' ? 0 : 8, telephoneEventPt: 101, remote: { address: '127.0.0.1', port: phone.port }, rtcpIntervalMs: 0, timeoutMs, jitterDepth: 1 }, () => ports.release(port));
      cleanup.push(() => s.close());
      return s;
    };
    const [a, b] = [await open(codecA, pa), await open(codecB, pb)];
    cleanup.push(() => { pa.socket.close(); pb.socket.close(); });
    const bridge = new RtpBridge({ media: a, codec: codecA }, { media: b, codec: codecB });
    cleanup.push(() => bridge.stop());
    return { a, b, pa, pb, bridge };
  }

  it('PCMU to PCMU: payloads pass unchanged, each leg with its own SSRC and continuous sequence', async () => {
    const { a, b, pa, pb, bridge } = await legs('PCMU', 'PCMU');
    const sent = frames(20);
    await Promise.all([pa.talk(a.port, 0, sent), pb.talk(b.port, 0, frames(20).reverse())]);
    await until(() => pb.got.length >= 18 && pa.got.length >= 18, 'both directions carried');
    assert.equal(bridge.stats.transcoding, false);
    assert.ok(pb.got.every((p) => p.ssrc === b.ssrc && p.pt === 0), 'leg B speaks with its own session\'s SSRC and PT');
    assert.ok(pa.got.every((p) => p.ssrc === a.ssrc), 'leg A too');
    // Byte-identical, in order (the jitter buffer may hold back the last frame or two).
    const heard = pb.got.map((p) => p.payload);
    assert.deepEqual(heard, sent.slice(0, heard.length));
    for (let i = 1; i < pb.got.length; i++) {
      assert.equal(pb.got[i]!.seq, (pb.got[i - 1]!.seq + 1) & 0xffff, 'sequence continuous');
      assert.equal(pb.got[i]!.ts, (pb.got[i - 1]!.ts + 160) >>> 0, 'timestamp advances 160 per frame');
    }
    assert.ok(pb.got[0]!.marker, 'the first frame starts a talkspurt');
  });

  it('PCMU to PCMA: converts law to law, both ways', async () => {
    const { a, b, pa, pb, bridge } = await legs('PCMU', 'PCMA');
    const sent = frames(10);
    await pa.talk(a.port, 0, sent);
    await until(() => pb.got.length >= 8, 'A to B carried');
    assert.equal(bridge.stats.transcoding, true);
    assert.ok(pb.got.every((p) => p.pt === 8), 'PCMA on leg B');
    assert.deepEqual(pb.got[0]!.payload, Buffer.from(ulawToAlaw(sent[0]!)));
    const alaw = Buffer.from(ulawToAlaw(Buffer.alloc(160, 0x33)));
    await pb.talk(b.port, 8, [alaw, alaw, alaw, alaw]);
    await until(() => pa.got.length >= 3, 'B to A carried');
    assert.ok(pa.got.every((p) => p.pt === 0), 'PCMU on leg A');
    assert.deepEqual(Buffer.from(ulawToAlaw(pa.got[0]!.payload)), alaw, 'the µ-law sent on is the A-law received, converted');
  });

  it('re-cuts 30 ms frames into 20 ms ones and carries DTMF as the other leg\'s telephone-event', async () => {
    const { a, pa, pb, bridge } = await legs('PCMU', 'PCMU');
    await pa.talk(a.port, 0, frames(6, 240));
    await until(() => pb.got.length >= 6, '20 ms frames out of 30 ms ones');
    assert.ok(pb.got.every((p) => p.payload.length === 160));
    await pa.digit(a.port, '7');
    await until(() => bridge.stats.digits.aToB === 1 && pb.got.some((p) => p.pt === 101), 'the digit sent on');
    const ev = pb.got.filter((p) => p.pt === 101).map((p) => TelephoneEvent.deSerialize(p.payload));
    assert.equal(ev[0]!.event, 7);
  });

  it('stops and says why when a leg falls silent', async () => {
    const { a, pa, bridge } = await legs('PCMU', 'PCMU', 300);
    await pa.talk(a.port, 0, frames(2));
    const [why] = await once(bridge, 'ended') as [string];
    assert.match(why, /^[ab]-timeout$/);
    assert.equal(bridge.stopped, true);
  });
});
