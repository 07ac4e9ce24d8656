import assert from 'node:assert/strict';
import { StreamFramer, type Frame } from '../../../../sip/index.js';
import { options } from './stream-peer.js';

const LIMITS = { maxMessageBytes: 4096, maxLineBytes: 1024 };

/** A tiny deterministic PRNG so that a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

describe('sip/transport: StreamFramer', () => {
  it('any chunking of a stream (messages with and without bodies, CRLF keepalives between) yields the same messages and pings', () => {
    const msgs = Array.from({ length: 30 }, (_, i) => options(`m${i}`, 5060, 'TCP', i % 3 === 0 ? { method: 'INFO', body: 'b'.repeat(i * 7) } : {}));
    const parts: string[] = [];
    let pings = 0;
    msgs.forEach((m, i) => {
      parts.push(m);
      if (i % 5 === 4) { parts.push('\r\n\r\n'); pings++; }
    });
    const stream = Buffer.from(parts.join(''));
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const f = new StreamFramer(LIMITS);
      const frames: Frame[] = [];
      for (let at = 0; at < stream.length;) {
        // from single bytes to several messages' worth per read
        const n = 1 + Math.floor(r() ** 3 * 3000);
        frames.push(...f.push(stream.subarray(at, at + n)));
        at += n;
      }
      const got = frames.filter((x): x is Extract<Frame, { kind: 'message' }> => x.kind === 'message').map((x) => x.bytes.toString());
      assert.deepEqual(got, msgs, `seed ${seed}`);
      assert.equal(frames.filter((x) => x.kind === 'ping').length, pings, `seed ${seed}`);
      assert.equal(f.buffered, 0);
    }
  });

  it('an error ends the frames of a push, after the good ones, and the framer stays broken', () => {
    const f = new StreamFramer(LIMITS);
    const out = f.push(Buffer.from(options('ok', 5060) + 'NOT SIP AT ALL\r\n'));
    assert.deepEqual(out.map((x) => x.kind), ['message', 'error']);
    assert.equal(f.broken, true);
    assert.deepEqual(f.push(Buffer.from(options('later', 5060))), []);
  });

  it('a message without Content-Length cannot be framed on a stream', () => {
    const f = new StreamFramer(LIMITS);
    const out = f.push(Buffer.from(options('nocl', 5060).replace(/Content-Length: 0\r\n/, '')));
    assert.equal(out.length, 1);
    assert.ok(out[0]!.kind === 'error' && out[0]!.error.code === 'SIP_ERR_PARSE');
  });
});
