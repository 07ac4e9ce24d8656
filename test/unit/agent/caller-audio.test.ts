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

  it('has nothing to resend before any audio', () => {
    const a = new CallerAudio();
    assert.deepEqual(a.unacknowledged(), { audio: Buffer.alloc(0), startSeconds: 0 });
    assert.equal(a.arrivalOf(0), undefined);
  });
});
