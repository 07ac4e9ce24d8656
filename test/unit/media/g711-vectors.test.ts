import assert from 'node:assert/strict';
import { alawToPcm, alawToUlaw, pcmToAlaw, pcmToAlawInto, pcmToUlaw, pcmToUlawInto, ulawToAlaw, ulawToPcm } from '../../../media/index.js';

/*
 * Vectors from ITU-T G.711 (11/88) itself, not from our code: Tables 1a/1b (A-law) and 2a/2b
 * (µ-law) give, per quantization interval, the decision values (the interval's ends), the
 * character signal transmitted for it and the decoder's output value, on a scale whose maximum
 * is 4096 (A-law) or 8159 (µ-law). Our codec works on 16-bit PCM: A-law values × 8, µ-law × 4.
 * The intervals below are the first and last of every segment (the segment boundaries), where an
 * encoder's segment search goes wrong first. Characters are as transmitted: A-law with its even
 * bits inverted (XOR 0x55), µ-law with every bit inverted.
 */
interface Row { lo: number; hi: number; y: number; code: number }

// Table 1a, positive inputs: [x(n), x(n+1)) → character, decoder output y(n). Segment 1 spans
// 0–64 in 32 steps of 2 (its two halves share the step), then each segment doubles the step.
const ALAW: Row[] = [
  { lo: 0, hi: 2, y: 1, code: 0xd5 },
  { lo: 30, hi: 32, y: 31, code: 0xda },
  { lo: 32, hi: 34, y: 33, code: 0xc5 },
  { lo: 62, hi: 64, y: 63, code: 0xca },
  { lo: 64, hi: 68, y: 66, code: 0xf5 },
  { lo: 124, hi: 128, y: 126, code: 0xfa },
  { lo: 128, hi: 136, y: 132, code: 0xe5 },
  { lo: 248, hi: 256, y: 252, code: 0xea },
  { lo: 256, hi: 272, y: 264, code: 0x95 },
  { lo: 496, hi: 512, y: 504, code: 0x9a },
  { lo: 512, hi: 544, y: 528, code: 0x85 },
  { lo: 992, hi: 1024, y: 1008, code: 0x8a },
  { lo: 1024, hi: 1088, y: 1056, code: 0xb5 },
  { lo: 1984, hi: 2048, y: 2016, code: 0xba },
  { lo: 2048, hi: 2176, y: 2112, code: 0xa5 },
  { lo: 3968, hi: 4096, y: 4032, code: 0xaa },
];

// Table 2a, positive inputs. The first interval is 0–1 (decoded 0); then steps of 2 to 31, and
// each following segment doubles the step, up to 8159.
const ULAW: Row[] = [
  { lo: 0, hi: 1, y: 0, code: 0xff },
  { lo: 29, hi: 31, y: 30, code: 0xf0 },
  { lo: 31, hi: 35, y: 33, code: 0xef },
  { lo: 91, hi: 95, y: 93, code: 0xe0 },
  { lo: 95, hi: 103, y: 99, code: 0xdf },
  { lo: 215, hi: 223, y: 219, code: 0xd0 },
  { lo: 223, hi: 239, y: 231, code: 0xcf },
  { lo: 463, hi: 479, y: 471, code: 0xc0 },
  { lo: 479, hi: 511, y: 495, code: 0xbf },
  { lo: 959, hi: 991, y: 975, code: 0xb0 },
  { lo: 991, hi: 1055, y: 1023, code: 0xaf },
  { lo: 1951, hi: 2015, y: 1983, code: 0xa0 },
  { lo: 2015, hi: 2143, y: 2079, code: 0x9f },
  { lo: 3935, hi: 4063, y: 3999, code: 0x90 },
  { lo: 4063, hi: 4319, y: 4191, code: 0x8f },
  { lo: 7903, hi: 8159, y: 8031, code: 0x80 },
];

const A = 8; // 13-bit (±4096) → 16-bit
const U = 4; // 14-bit (±8159) → 16-bit

describe('G.711 against the ITU-T tables', () => {
  it('A-law (Table 1a/1b): every segment boundary interval encodes to its character and decodes to its output value', () => {
    for (const r of ALAW) {
      const inside = [r.lo * A, r.hi * A - 1, r.y * A];
      assert.deepEqual([...pcmToAlaw(Int16Array.from(inside))], [r.code, r.code, r.code], `[${r.lo}, ${r.hi}) → ${r.code.toString(16)}`);
      assert.deepEqual([...alawToPcm(Uint8Array.of(r.code))], [r.y * A], `${r.code.toString(16)} → ${r.y}`);
      // Table 1b mirrors it: the sign bit (after the even-bit inversion, 0x80) is the only difference.
      const neg = r.code ^ 0x80;
      assert.deepEqual([...pcmToAlaw(Int16Array.of(-r.y * A))], [neg], `−${r.y} → ${neg.toString(16)}`);
      assert.deepEqual([...alawToPcm(Uint8Array.of(neg))], [-r.y * A]);
    }
    // Past the last decision value the encoder saturates at the largest character.
    assert.deepEqual([...pcmToAlaw(Int16Array.of(32767, -32768))], [0xaa, 0x2a]);
  });

  it('µ-law (Table 2a/2b): every segment boundary interval encodes to its character and decodes to its output value', () => {
    for (const r of ULAW) {
      const inside = [r.lo * U, r.hi * U - 1, r.y * U];
      assert.deepEqual([...pcmToUlaw(Int16Array.from(inside))], [r.code, r.code, r.code], `[${r.lo}, ${r.hi}) → ${r.code.toString(16)}`);
      assert.deepEqual([...ulawToPcm(Uint8Array.of(r.code))], [r.y * U], `${r.code.toString(16)} → ${r.y}`);
      if (r.y === 0) continue; // ±0: two characters, both decoding to 0
      const neg = r.code ^ 0x80;
      assert.deepEqual([...pcmToUlaw(Int16Array.of(-r.y * U))], [neg], `−${r.y} → ${neg.toString(16)}`);
      assert.deepEqual([...ulawToPcm(Uint8Array.of(neg))], [-r.y * U]);
    }
    assert.deepEqual([...ulawToPcm(Uint8Array.of(0x7f))], [0], 'negative zero decodes to 0');
    assert.deepEqual([...pcmToUlaw(Int16Array.of(32767, -32768))], [0x80, 0x00]);
  });

  it('encodes into a caller-provided buffer the same characters', () => {
    const pcm = Int16Array.from(ALAW.map((r) => r.y * A));
    const dst = new Uint8Array(pcm.length + 4).fill(0x11);
    assert.equal(pcmToAlawInto(pcm, dst), pcm.length);
    assert.deepEqual([...dst.subarray(0, pcm.length)], ALAW.map((r) => r.code));
    assert.equal(dst[pcm.length], 0x11, 'nothing written past the samples');
    const pcmU = Int16Array.from(ULAW.map((r) => r.y * U));
    assert.equal(pcmToUlawInto(pcmU, dst), pcmU.length);
    assert.deepEqual([...dst.subarray(0, pcmU.length)], ULAW.map((r) => r.code));
  });

  it('A-law ↔ µ-law conversion lands in the other law\'s interval holding the decoded value, sign kept', () => {
    // Decision values of both laws' positive intervals (Tables 1a and 2a), on the 14-bit scale.
    const aEdges = [0];
    let x = 0;
    for (let i = 0; i < 32; i++) aEdges.push((x += 4));
    for (let step = 8; step <= 256; step *= 2) for (let i = 0; i < 16; i++) aEdges.push((x += step));
    const uEdges = [0, 1];
    x = 1;
    for (let i = 0; i < 15; i++) uEdges.push((x += 2));
    for (let step = 4; step <= 256; step *= 2) for (let i = 0; i < 16; i++) uEdges.push((x += step));
    assert.equal(aEdges.at(-1), 8192);
    assert.equal(uEdges.at(-1), 8159);
    const intervalOf = (edges: number[], v: number): number => edges.findIndex((e, i) => v >= e && v < (edges[i + 1] ?? Infinity));
    for (let c = 0; c < 256; c++) {
      const aValue = alawToPcm(Uint8Array.of(c))[0]! / U; // 14-bit
      const toU = alawToUlaw(Uint8Array.of(c))[0]!;
      const uValue = ulawToPcm(Uint8Array.of(toU))[0]! / U;
      assert.equal(Math.sign(uValue) || Math.sign(aValue), Math.sign(aValue), `A ${c.toString(16)} keeps its sign`);
      assert.equal(intervalOf(uEdges, Math.abs(uValue)), intervalOf(uEdges, Math.abs(aValue)), `A ${c.toString(16)} (${aValue}) → µ ${toU.toString(16)} (${uValue})`);
      const uIn = ulawToPcm(Uint8Array.of(c))[0]! / U;
      const toA = ulawToAlaw(Uint8Array.of(c))[0]!;
      const aOut = alawToPcm(Uint8Array.of(toA))[0]! / U;
      assert.equal(intervalOf(aEdges, Math.abs(aOut)), intervalOf(aEdges, Math.abs(uIn)), `µ ${c.toString(16)} (${uIn}) → A ${toA.toString(16)} (${aOut})`);
    }
  });
});
