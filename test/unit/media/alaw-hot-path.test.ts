import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { alawToUlaw } from '../../../media/index.js';
import { CallerAudio } from '../../../src/agent/caller-audio.js';

// The caller's audio of a PCMA call, packet by packet, as src/calls/call.ts feeds it to the agent:
// each payload converted to µ-law in place and kept by CallerAudio until ASR acknowledges it.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const PACKETS = 5000;

/** Fresh "datagrams" (header + A-law payload), as dgram hands them over: one ArrayBuffer each. */
function datagrams(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => {
    const m = Buffer.alloc(12 + 160, 0xd5);
    m[12] = i & 0xff;
    return m.subarray(12);
  });
}

/**
 * JS heap bytes allocated per packet by `feed`, over a run sized to fit in the young generation's
 * free space after a full collection (≈ 400 B per packet allowed: the control allocates ~300), so
 * no scavenge runs inside it and the heap's growth is what the run allocated.
 */
function heapPerPacket(feed: (payload: Buffer, at: number) => void): number {
  const warm = datagrams(PACKETS);
  for (let i = 0; i < PACKETS; i++) feed(warm[i]!, i);
  gc();
  const young = v8.getHeapSpaceStatistics().find((sp) => sp.space_name === 'new_space')!;
  const n = Math.max(500, Math.min(PACKETS, Math.floor(young.space_available_size / 400)));
  // The least of three runs: a run can also hold the JIT's own allocations (the loop optimised
  // on stack, code and feedback), which a per-packet allocation never escapes.
  let least = Infinity;
  for (let run = 0; run < 3; run++) {
    const payloads = datagrams(n);
    gc();
    const before = v8.getHeapStatistics().used_heap_size;
    for (let i = 0; i < n; i++) feed(payloads[i]!, i);
    least = Math.min(least, (v8.getHeapStatistics().used_heap_size - before) / n);
  }
  return least;
}

describe('A-law hot path', () => {
  it('converts each payload in place and keeps it without allocating per packet', () => {
    const audio = new CallerAudio();
    const perPacket = heapPerPacket((p, at) => audio.push(alawToUlaw(p, p), at));
    // The previous path (a new array from the transcoder, then Buffer.from) measured the same way:
    // proves the measurement sees a per-packet allocation when there is one.
    const old = new CallerAudio();
    const oldPerPacket = heapPerPacket((p, at) => old.push(Buffer.from(alawToUlaw(p)), at));
    assert.ok(oldPerPacket > 100, `the control path should allocate per packet (measured ${oldPerPacket.toFixed(1)} B/packet)`);
    assert.ok(perPacket < 32, `${perPacket.toFixed(1)} B of heap per packet on the A-law path (control: ${oldPerPacket.toFixed(1)})`);
    // Bounded at 30 s of audio, and what is kept is the converted payload.
    const { audio: kept } = audio.unacknowledged();
    assert.ok(kept.length >= 30 * 8000 && kept.length <= 30 * 8000 + 160, `kept ${kept.length} bytes`);
    const ulaw = alawToUlaw(Uint8Array.of(0xd5))[0];
    assert.equal(kept[1], ulaw);
    assert.equal(kept[kept.length - 1], ulaw);
  });
});
