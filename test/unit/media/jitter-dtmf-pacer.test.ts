import assert from 'node:assert/strict';
import { JitterBuffer, DtmfReceiver, dtmfPackets, TelephoneEvent, Pacer, PacedStream, isMediaError } from '../../../media/index.js';
import type { DtmfDigit } from '../../../media/index.js';
import { until } from '../../support/wait.js';

const f = (n: number): Buffer => Buffer.from([n & 0xff]);

describe('media jitter buffer', () => {
  it('reorders, drops duplicates and late packets, across the 16-bit wrap', () => {
    const out: (number | null)[] = [];
    const jb = new JitterBuffer((p) => out.push(p ? p[0]! : null), 3);
    for (const s of [65534, 0, 65535, 65535, 1, 65533]) jb.push(s, f(s));
    assert.deepEqual(out, [65534 & 0xff, 65535 & 0xff, 0, 1]);
    // the second 65535 arrived after release: late, not duplicate
    assert.equal(jb.stats.late, 2);
  });

  it('holds a duplicate while waiting and declares a gap lost when full (with fill)', () => {
    const out: (number | null)[] = [];
    const fill = Buffer.from([0xff]);
    const jb = new JitterBuffer((p) => out.push(p ? p[0]! : null), 3, fill);
    jb.push(10, f(10));
    for (const s of [12, 12, 13, 14]) jb.push(s, f(s));
    assert.deepEqual(out, [10, 0xff, 12, 13, 14]);
    assert.equal(jb.stats.duplicates, 1);
    assert.equal(jb.stats.lost, 1);
    assert.equal(jb.stats.delivered, 4);
  });
});

describe('media DTMF', () => {
  it('sender: marker on first, same digit, end sent 3 times, durations grow', () => {
    const pk = dtmfPackets('7', 100);
    assert.equal(pk.length, 4 + 3);
    assert.equal(pk[0]!.marker, true);
    assert.ok(pk.slice(1).every((p) => !p.marker));
    const evs = pk.map((p) => TelephoneEvent.deSerialize(p.payload));
    assert.ok(evs.every((e) => e.digit === '7'));
    assert.deepEqual(evs.map((e) => e.end), [false, false, false, false, true, true, true]);
    assert.equal(evs[6]!.duration, 800);
    assert.throws(() => dtmfPackets('Z'), (e) => isMediaError(e, 'MEDIA_ERR_DTMF_MALFORMED'));
  });

  it('receiver: one start and one end per digit, redundant ends deduped', () => {
    const got: DtmfDigit[] = [];
    const rx = new DtmfReceiver((d) => got.push(d));
    for (const [ts, digit] of [[1000, '1'], [5000, '#']] as const) for (const p of dtmfPackets(digit, 60)) rx.push(ts, p.payload);
    assert.deepEqual(got, [
      { digit: '1', duration: 160, end: false }, { digit: '1', duration: 480, end: true },
      { digit: '#', duration: 160, end: false }, { digit: '#', duration: 480, end: true },
    ]);
  });
});

describe('media pacer', () => {
  it('cuts 160-byte frames from bursts, pads the tail, marks talkspurts, flushes on barge-in', () => {
    const sent: { frame: number[] | null; marker: boolean }[] = [];
    const pacer = new Pacer();
    const s = new PacedStream({ sendFrame: (fr, m) => sent.push({ frame: fr ? [fr.length, fr[0]!, fr[159]!] : null, marker: m }) });
    pacer.add(s);
    pacer.stop(); // drive by hand
    s.enqueue(Buffer.alloc(100, 1));
    s.enqueue(Buffer.alloc(230, 2)); // 330 bytes → 2 full frames + 10 bytes
    pacer.tickNow(); pacer.tickNow(); pacer.tickNow(); pacer.tickNow();
    assert.deepEqual(sent, [
      { frame: [160, 1, 2], marker: true }, { frame: [160, 2, 2], marker: false },
      { frame: [160, 2, 0xff], marker: false }, { frame: null, marker: false },
    ]);
    sent.length = 0;
    s.enqueue(Buffer.alloc(1600, 3));
    pacer.tickNow();
    s.flush();
    assert.equal(s.queuedBytes, 0);
    pacer.tickNow();
    assert.deepEqual(sent, [{ frame: [160, 3, 3], marker: true }, { frame: null, marker: false }]);
    pacer.remove(s);
  });

  it('real clock: ticks every 20 ms and reports send-time jitter', async () => {
    const pacer = new Pacer();
    let frames = 0;
    const s = new PacedStream({ sendFrame: () => frames++ }, true);
    const t0 = performance.now();
    pacer.add(s);
    await until(() => frames >= 10, 'ten frames from the pacer\'s own clock');
    pacer.remove(s);
    const elapsed = performance.now() - t0;
    const st = pacer.stats();
    // Frame k is due at start + k·20 ms and never sent before: no more frames than the time allows.
    assert.ok(frames <= Math.floor(elapsed / 20) + 1, `${frames} frames in ${elapsed.toFixed(1)} ms`);
    assert.equal(st.ticks, frames);
    assert.ok(st.jitterP99Ms >= 0 && st.jitterMaxMs >= st.jitterP50Ms);
  });
});
