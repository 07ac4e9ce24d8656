import assert from 'node:assert/strict';
import { Pacer, PacedStream, JitterBuffer } from '../../../media/index.js';

/** A pacer on a hand-driven clock: its own timer is stopped and poll() runs what is due. */
function manualPacer(slots = 10, slotTarget = 1): { pacer: Pacer; at: (ms: number) => void } {
  let t = 0;
  const pacer = new Pacer(() => t, { slots, slotTarget });
  return {
    pacer,
    at: (ms: number) => {
      t = ms;
      pacer.poll();
    },
  };
}

describe('media pacer phase slots', () => {
  it('spreads streams over the slots and sends each exactly once per 20 ms, in its own phase', () => {
    const { pacer, at } = manualPacer(10);
    const sends: [number, number][] = [];
    let now = 0;
    const streams = Array.from({ length: 20 }, (_, i) => new PacedStream({ sendFrame: (f) => f && sends.push([i, now]) }, true));
    for (const s of streams) pacer.add(s);
    pacer.stop();
    assert.deepEqual(new Set(streams.map((s) => s.slot)).size, 10, 'all ten slots used');
    for (now = 0; now < 60; now += 2) at(now);
    // 20 streams × 3 frames, each stream's sends exactly 20 ms apart
    assert.equal(sends.length, 60);
    for (let i = 0; i < 20; i++) {
      const times = sends.filter(([s]) => s === i).map(([, t]) => t);
      assert.deepEqual(times, [times[0]!, times[0]! + 20, times[0]! + 40], `stream ${i}`);
    }
    // two streams per slot → two per 2 ms step, never all at once
    assert.ok(new Set(sends.map(([, t]) => t)).size === 30);
    for (const s of streams) pacer.remove(s);
  });

  it('packs a few streams into few slots (fewer wake-ups), then balances past the target', () => {
    const { pacer } = manualPacer(10, 4);
    const mk = (): PacedStream => new PacedStream({ sendFrame: () => undefined }, true);
    const first = Array.from({ length: 6 }, mk);
    for (const s of first) pacer.add(s);
    pacer.stop();
    assert.deepEqual(first.map((s) => s.slot), [0, 0, 0, 0, 1, 1]);
    const more = Array.from({ length: 40 }, mk);
    for (const s of more) pacer.add(s);
    // 46 streams over 10 slots with a target of 4: every slot holds 4 or 5 (balanced past it)
    const sizes = Array.from({ length: 10 }, (_, i) => [...first, ...more].filter((s) => s.slot === i).length);
    assert.ok(sizes.every((n) => n === 4 || n === 5), String(sizes));
    for (const s of [...first, ...more]) pacer.remove(s);
  });

  it('counts lateness per frame as send jitter, catches up short stalls and skips whole frames', () => {
    const { pacer, at } = manualPacer(2);
    let frames = 0;
    const a = new PacedStream({ sendFrame: (f) => f && frames++ }, true);
    const b = new PacedStream({ sendFrame: (f) => f && frames++ }, true);
    pacer.add(a);
    pacer.add(b);
    pacer.stop();
    at(0); // slot 0 on time
    at(10.5); // slot 1, 0.5 ms late
    assert.equal(frames, 2);
    const st = pacer.stats();
    assert.equal(st.frames, 2);
    assert.ok(st.sendJitterMaxMs >= 0.5 && st.sendJitterMaxMs < 0.6, `max ${st.sendJitterMaxMs}`);
    at(25); // slot 0 of frame 1 was due at 20: runs late, slot 1 (30) not yet
    assert.equal(frames, 3);
    at(95); // a stall past whole frames: skipped and counted, not replayed back to back
    assert.ok(pacer.stats().missedTicks >= 2);
    assert.ok(frames <= 5, `frames ${frames}`);
    pacer.resetStats();
    assert.equal(pacer.stats().frames, 0);
    pacer.remove(a);
    pacer.remove(b);
  });

  it('remove() keeps the remaining streams in their slots; a sink that polls does not re-enter', () => {
    const { pacer, at } = manualPacer(1);
    const got: string[] = [];
    const mk = (name: string): PacedStream => new PacedStream({ sendFrame: (f) => { if (f) got.push(name); pacer.poll(); } }, true);
    const [x, y, z] = [mk('x'), mk('y'), mk('z')];
    for (const s of [x, y, z]) pacer.add(s);
    pacer.stop();
    pacer.remove(x);
    assert.equal(x.slot, -1);
    at(0);
    assert.deepEqual(got.sort(), ['y', 'z']);
    pacer.remove(x); // idempotent
    pacer.remove(y);
    pacer.remove(z);
    assert.equal(pacer.stats().streams, 0);
  });
});

describe('media jitter buffer ring', () => {
  it('a jump beyond the ring declares the gap lost and keeps order', () => {
    const out: (number | null)[] = [];
    const jb = new JitterBuffer((p) => out.push(p ? p[0]! : null), 3);
    jb.push(1, Buffer.from([1]));
    jb.push(30, Buffer.from([30]));
    jb.push(31, Buffer.from([31]));
    jb.push(32, Buffer.from([32]));
    assert.equal(out[0], 1);
    assert.deepEqual(out.slice(-3), [30, 31, 32]);
    assert.equal(jb.stats.lost, 28); // 2..29
    assert.equal(out.length, 1 + 28 + 3);
    assert.ok(out.slice(1, 29).every((v) => v === null));
  });
});

describe('media PacedStream byte ring', () => {
  it('copies on enqueue (caller may reuse its buffer), wraps, grows for bursts and keeps order', () => {
    const out: number[] = [];
    const s = new PacedStream({ sendFrame: (f) => f && out.push(...f) });
    const reused = Buffer.alloc(100);
    // 12 × 100 bytes through a buffer the caller rewrites each time; interleaved with ticks
    // so the ring's head moves and writes wrap around its end
    let expected: number[] = [];
    for (let i = 0; i < 12; i++) {
      reused.fill(i + 1);
      s.enqueue(reused);
      expected = expected.concat(Array(100).fill(i + 1));
      if (i % 3 === 2) s.tick();
    }
    // a burst far larger than the initial ring (a TTS sentence at once)
    const burst = Buffer.from(Array.from({ length: 5000 }, (_, i) => i % 251));
    s.enqueue(burst);
    expected = expected.concat([...burst]);
    while (s.queuedBytes > 0) s.tick();
    const padded = expected.concat(Array((160 - (expected.length % 160)) % 160).fill(0xff));
    assert.deepEqual(out, padded);
    s.enqueue(Buffer.alloc(400, 7));
    s.flush();
    assert.equal(s.queuedBytes, 0);
    out.length = 0;
    s.tick();
    assert.deepEqual(out, [], 'nothing after barge-in');
  });
});

describe('media PacedStream against a reference queue', () => {
  it('random enqueue sizes, ticks and flushes play exactly the queued bytes, padded per talkspurt', () => {
    let seed = 7;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const out: number[] = [];
    const s = new PacedStream({ sendFrame: (f) => { if (f) out.push(...f); } });
    let model: number[] = [];
    const expected: number[] = [];
    let v = 0;
    for (let step = 0; step < 3000; step++) {
      const op = rnd(10);
      if (op < 5) {
        const n = rnd(op === 0 ? 3000 : 400) + 1;
        const b = Buffer.alloc(n);
        for (let i = 0; i < n; i++) b[i] = (v = (v + 1) % 255);
        s.enqueue(b);
        model.push(...b);
      } else if (op < 9) {
        s.tick();
        if (model.length > 0) {
          const f = model.splice(0, 160);
          expected.push(...f, ...Array(160 - f.length).fill(0xff));
        }
      } else if (rnd(20) === 0) {
        s.flush();
        model = [];
      }
      assert.equal(s.queuedBytes, model.length);
    }
    assert.deepEqual(out, expected);
  });
});
