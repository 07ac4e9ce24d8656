import { writeFileSync } from 'node:fs';
import alawmulaw from 'alawmulaw';
import { Synthesizer } from '../../src/local/synthesizer.js';
import { wav8k } from './wav.js';

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
  writeFileSync(path, wav8k(pcm));
  return path;
}
