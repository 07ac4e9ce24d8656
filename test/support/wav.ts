/** A 16-bit mono 8 kHz WAV file of `pcm` (what baresip's aufile and Chromium's fake microphone read). */
export function wav8k(pcm: Int16Array): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + pcm.length * 2, 4); h.write('WAVE', 8); h.write('fmt ', 12);
  h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(1, 22); h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28); h.writeUInt16LE(2, 32); h.writeUInt16LE(16, 34); h.write('data', 36); h.writeUInt32LE(pcm.length * 2, 40);
  return Buffer.concat([h, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)]);
}

/** Loudest 20 ms RMS of a 16-bit mono 8 kHz WAV: silence is ~0, speech is hundreds to thousands. */
export function peakRms(file: Buffer): number {
  const data = file.subarray(44);
  let peak = 0;
  for (let off = 0; off + 320 <= data.length; off += 320) {
    let sum = 0;
    for (let i = 0; i < 320; i += 2) { const v = data.readInt16LE(off + i); sum += v * v; }
    peak = Math.max(peak, Math.sqrt(sum / 160));
  }
  return peak;
}
