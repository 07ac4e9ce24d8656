import type { Logger } from '../log.js';
import { Synthesizer } from '../local/synthesizer.js';

/**
 * The last resort when no TTS socket can be had inside a turn: a short
 * apology rendered once at boot (espeak-ng, µ-law 8 kHz) and played from
 * memory, so the caller hears something even while the TTS provider is down.
 *
 * espeak-ng rather than the agent's own TTS voice: the clip exists for the
 * moment the TTS provider is unreachable, and the provider may well be
 * unreachable at boot too; espeak-ng ships in the npm package and needs
 * nothing outside the process. One clip per process (about 40 KB).
 */
export const APOLOGY_CLIP_TEXT = "I'm sorry, I'm having trouble answering right now. Could you say that again?";

let clip: Buffer | undefined;
let rendering: Promise<Buffer | undefined> | undefined;

/** Renders the clip once; never rejects (no clip means a silent last resort, logged). */
export function renderApologyClip(log?: Logger): Promise<Buffer | undefined> {
  rendering ??= new Synthesizer(1).synthesize(APOLOGY_CLIP_TEXT).then(
    (audio) => {
      clip = audio;
      return audio;
    },
    (err: unknown) => {
      log?.error({ err }, 'the apology clip could not be rendered: a turn with no TTS at all stays silent');
      return undefined;
    },
  );
  return rendering;
}

/** The rendered clip, or undefined before renderApologyClip() finished (or if it failed). */
export function apologyClip(): Buffer | undefined {
  return clip;
}
