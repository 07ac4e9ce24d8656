import alawmulaw from 'alawmulaw';

/**
 * G.711 through alawmulaw. PCMU is carried end to end untouched (ASR takes mulaw 8 kHz, TTS
 * emits ulaw_8000); these are for a PCMA carrier leg and for energy measurements.
 */
export function ulawToPcm(ulaw: Uint8Array): Int16Array {
  return alawmulaw.mulaw.decode(ulaw);
}
export function pcmToUlaw(pcm: Int16Array): Uint8Array {
  return alawmulaw.mulaw.encode(pcm);
}
export function alawToPcm(alaw: Uint8Array): Int16Array {
  return alawmulaw.alaw.decode(alaw);
}
export function pcmToAlaw(pcm: Int16Array): Uint8Array {
  return alawmulaw.alaw.encode(pcm);
}

// Sample-by-sample tables: a PCMA leg converts every frame, 50 times a second per call.
const A2U = new Uint8Array(256);
const U2A = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  A2U[i] = alawmulaw.mulaw.encodeSample(alawmulaw.alaw.decodeSample(i));
  U2A[i] = alawmulaw.alaw.encodeSample(alawmulaw.mulaw.decodeSample(i));
}
/**
 * A-law → µ-law into `dst` (the same buffer as `src` converts in place: a PCMA leg's payload
 * becomes the ASR feed's µ-law with no allocation per packet). Without `dst`, a new array.
 */
export function alawToUlaw(src: Uint8Array): Uint8Array;
export function alawToUlaw<T extends Uint8Array>(src: Uint8Array, dst: T): T;
export function alawToUlaw(src: Uint8Array, dst: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  for (let i = 0; i < src.length; i++) dst[i] = A2U[src[i]!]!;
  return dst;
}
/** µ-law → A-law into `dst` (in place when it is `src`), or into a new array. */
export function ulawToAlaw(src: Uint8Array): Uint8Array;
export function ulawToAlaw<T extends Uint8Array>(src: Uint8Array, dst: T): T;
export function ulawToAlaw(src: Uint8Array, dst: Uint8Array = new Uint8Array(src.length)): Uint8Array {
  for (let i = 0; i < src.length; i++) dst[i] = U2A[src[i]!]!;
  return dst;
}

/** Encodes linear PCM into a caller-provided buffer (at least `pcm.length` long); returns the bytes written. */
export function pcmToUlawInto(pcm: Int16Array, dst: Uint8Array): number {
  for (let i = 0; i < pcm.length; i++) dst[i] = alawmulaw.mulaw.encodeSample(pcm[i]!);
  return pcm.length;
}
export function pcmToAlawInto(pcm: Int16Array, dst: Uint8Array): number {
  for (let i = 0; i < pcm.length; i++) dst[i] = alawmulaw.alaw.encodeSample(pcm[i]!);
  return pcm.length;
}

/** µ-law silence (0xFF decodes to 0). */
export const ULAW_SILENCE = 0xff;

/** Mean absolute amplitude of a µ-law frame, for simple energy checks. */
export function ulawEnergy(ulaw: Uint8Array): number {
  if (ulaw.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < ulaw.length; i++) sum += Math.abs(alawmulaw.mulaw.decodeSample(ulaw[i]!));
  return sum / ulaw.length;
}
