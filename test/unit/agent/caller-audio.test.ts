import assert from 'node:assert/strict';
import { CallerAudio } from '../../../src/agent/caller-audio.js';

const frame = (n: number): Buffer => Buffer.alloc(160, n & 0xff);

describe('CallerAudio', () => {
  it('keeps what ASR has not acknowledged, from the acknowledged byte on, across ring growth and wrap', () => {
    const a = new CallerAudio(60);
    // 100 frames (more than the initial ring), acknowledged as they go so the ring wraps too.
    for (let i = 0; i < 100; i++) {
      a.push(frame(i), 1000 + i * 20);
      if (i % 30 === 29) a.acknowledge(((i - 10) * 160 + 40) / 8000);
    }
    assert.equal(a.total, 100 * 160);
    // Last acknowledgement (after frame 89): 79 frames and 40 bytes in, inside frame 79.
    const { audio, startSeconds } = a.unacknowledged();
    assert.equal(startSeconds, (79 * 160 + 40) / 8000);
    assert.equal(audio.length, 21 * 160 - 40);
    assert.equal(audio[0], 79);
    assert.equal(audio[119], 79);
    assert.equal(audio[120], 80);
    assert.equal(audio[audio.length - 1], 99);
  });

  it('maps a call second to the arrival time of the chunk holding it', () => {
    const a = new CallerAudio();
    for (let i = 0; i < 200; i++) a.push(frame(i), 5000 + i * 20);
    assert.equal(a.arrivalOf(0), 5000);
    assert.equal(a.arrivalOf(150 * 0.02 + 0.005), 5000 + 150 * 20);
    assert.equal(a.arrivalOf(199 * 0.02), 5000 + 199 * 20);
    a.acknowledge(100 * 0.02);
    assert.equal(a.arrivalOf(0), undefined, 'acknowledged audio is forgotten');
    assert.equal(a.arrivalOf(100 * 0.02), 5000 + 100 * 20);
  });

  it('holds at most maxSeconds when nothing is acknowledged', () => {
    const a = new CallerAudio(1);
    for (let i = 0; i < 500; i++) a.push(frame(i), i * 20);
    const { audio, startSeconds } = a.unacknowledged();
    assert.ok(audio.length <= 8000 + 160 && audio.length >= 8000, `kept ${audio.length} bytes`);
    assert.equal(audio[audio.length - 1], 499 & 0xff);
    assert.equal(startSeconds, (500 * 160 - audio.length) / 8000);
  });

  it('agrees with a plain list of chunks over random chunk sizes, acknowledgements and ring growth', () => {
    let seed = 7;
    const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const a = new CallerAudio(2);
    const model: Array<{ offset: number; audio: Buffer }> = [];
    let total = 0;
    let acked = 0;
    for (let step = 0; step < 3000; step++) {
      const chunk = Buffer.alloc(1 + rand(600), step & 0xff);
      a.push(chunk, step);
      model.push({ offset: total, audio: chunk });
      total += chunk.length;
      while (model.length > 1 && total - model[1]!.offset > 16000) model.shift();
      if (rand(10) === 0) {
        acked = Math.max(acked, total - rand(20000));
        a.acknowledge(acked / 8000);
        while (model.length > 1 && model[1]!.offset <= acked) model.shift();
      }
      if (step % 97 === 0) {
        const from = Math.max(acked, model[0]!.offset);
        const want = Buffer.concat(model.map((c) => c.audio)).subarray(from - model[0]!.offset);
        const got = a.unacknowledged();
        assert.equal(got.startSeconds, from / 8000, `step ${step}`);
        assert.ok(got.audio.equals(want), `step ${step}: ${got.audio.length} vs ${want.length} bytes`);
      }
    }
  });

  it('has nothing to resend before any audio', () => {
    const a = new CallerAudio();
    assert.deepEqual(a.unacknowledged(), { audio: Buffer.alloc(0), startSeconds: 0 });
    assert.equal(a.arrivalOf(0), undefined);
  });
});
