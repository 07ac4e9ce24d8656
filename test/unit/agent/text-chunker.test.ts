import assert from 'node:assert/strict';
import { TextChunker } from '../../../src/agent/text-chunker.js';

function feed(chunker: TextChunker, tokens: string[]): string[] {
  return [...tokens.flatMap((t) => chunker.push(t)), ...chunker.end()];
}

describe('agent: TextChunker', () => {
  it('refuses inconsistent limits', () => {
    assert.throws(() => new TextChunker({ minChars: 50, maxChars: 20 }), RangeError);
    assert.throws(() => new TextChunker({ firstMinChars: 0 }), RangeError);
  });

  it('releases the first clause early, then whole sentences', () => {
    const tokens = 'Sure, I can help with that. Your appointment is on Tuesday at nine, in the morning. Anything else?'.split(/(?<= )/);
    const c = new TextChunker();
    const released: string[] = [];
    let firstAt = -1;
    tokens.forEach((t, i) => { const out = c.push(t); if (out.length && firstAt < 0) firstAt = i; released.push(...out); });
    released.push(...c.end());
    assert.deepEqual(released, ['Sure, I can help with that.', 'Your appointment is on Tuesday at nine, in the morning.', 'Anything else?']);
    assert.ok(firstAt >= 0 && firstAt < 7, 'the first chunk is out before the reply is');
  });

  it('a short first clause still goes out at once when it has a few words', () => {
    const c = new TextChunker({ firstMinChars: 10 });
    assert.deepEqual(c.push('Okay, let me check '), []);
    assert.deepEqual(c.push('that for you, '), ['Okay, let me check that for you,']);
  });

  it('cuts a run-on reply at a space before maxChars', () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');
    const out = feed(new TextChunker({ minChars: 30, maxChars: 50 }), [words]);
    assert.ok(out.length > 1);
    for (const chunk of out) assert.ok(chunk.length <= 50, chunk);
    assert.equal(out.join(' '), words);
  });

  it('reset drops the unreleased text (barge-in)', () => {
    const c = new TextChunker();
    c.push('Let me tell you about');
    c.reset();
    assert.deepEqual(c.end(), []);
  });

  it('keeps every character of the reply, in order', () => {
    const text = 'One. Two, three; four: five! Six? Seven.';
    const out = feed(new TextChunker({ firstMinChars: 1, minChars: 1 }), text.split(''));
    assert.equal(out.join(' '), text);
  });
});
