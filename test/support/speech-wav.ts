import { writeFileSync } from 'node:fs';
import alawmulaw from 'alawmulaw';
import { Synthesizer } from '../../src/local/synthesizer.js';

/**
 * A 16-bit 8 kHz mono WAV of `text` spoken by espeak-ng, between stretches of silence, for
 * Chromium's fake microphone (--use-file-for-fake-audio-capture loops it). The lead lets the
 * greeting play first; the tail lets the recognizer's endpointing close the utterance.
 */
export async function writeSpeechWav(path: string, text: string, leadS = 4, tailS = 6): Promise<string> {
  const ulaw = await new Synthesizer().synthesize(text);
  const speech = alawmulaw.mulaw.decode(ulaw);
  const lead = new Int16Array(8000 * leadS);
  const tail = new Int16Array(8000 * tailS);
  const pcm = new Int16Array(lead.length + speech.length + tail.length);
  pcm.set(speech, lead.length);
  const data = Buffer.from(pcm.buffer);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
  return path;
}
