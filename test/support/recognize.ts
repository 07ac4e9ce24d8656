import alawmulaw from 'alawmulaw';
import { SphinxRecognizer, sphinxAvailability } from '../../src/local/sphinx.js';

/**
 * Words in audio a test received (issue 11 item 8): the same offline recognizer the local ASR
 * uses, run over what the caller heard, so a garbled media path (wrong codec, broken SRTP,
 * misordered packets) fails the test where audio energy alone would pass it.
 */
export async function recognizeUlaw(ulaw: Buffer): Promise<string> {
  const a = sphinxAvailability();
  if (!a.available) throw new Error(a.reason);
  const r = new SphinxRecognizer({ bin: a.bin, maxProcesses: 1, timeoutMs: 90_000 });
  try {
    const u = r.start();
    if (!u) throw new Error('pocketsphinx did not start');
    for (let i = 0; i < ulaw.length; i += 1600) u.push(ulaw.subarray(i, i + 1600));
    return await u.end();
  } finally {
    r.close();
  }
}

/** 16-bit PCM at 8 kHz (a WAV's data, say), recognized as µ-law like the phone network carries it. */
export function recognizePcm8k(pcm: Int16Array): Promise<string> {
  return recognizeUlaw(Buffer.from(alawmulaw.mulaw.encode(pcm)));
}

/** Which of `words` the recognizer got, as whole words. */
export function wordsHeard(text: string, words: readonly string[]): string[] {
  const got = new Set(text.toLowerCase().split(/[^a-z']+/));
  return words.filter((w) => got.has(w));
}
