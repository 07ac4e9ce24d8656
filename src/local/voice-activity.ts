import alawmulaw from 'alawmulaw';

const { mulaw } = alawmulaw;

/**
 * The local ASR's ears: an energy voice-activity detector and a Goertzel DTMF
 * detector over 20 ms blocks of µ-law 8 kHz audio. It is a stand-in for a
 * recognizer and says only what it can honestly tell: that speech started,
 * that it ended (after `endpointingMs` of silence) and how long it was, and
 * which DTMF digits were pressed in band.
 */
export type VadEvent =
  | { type: 'speech-start'; at: number }
  | { type: 'speech-end'; start: number; end: number }
  | { type: 'dtmf'; digit: string; at: number };

export interface VadOptions {
  /** Silence that ends speech, ms. */
  endpointingMs: number;
  /** RMS (16-bit linear) above which a block is voiced. Default 400 (about -38 dBFS). */
  threshold?: number;
}

const RATE = 8000;
const BLOCK = 160; // 20 ms
const LOW = [697, 770, 852, 941];
const HIGH = [1209, 1336, 1477, 1633];
const KEYS = ['123A', '456B', '789C', '*0#D'];
const coeff = (f: number) => 2 * Math.cos((2 * Math.PI * f) / RATE);
const LOW_C = LOW.map(coeff);
const HIGH_C = HIGH.map(coeff);

function goertzel(x: Float64Array, c: number): number {
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i++) {
    const s0 = x[i]! + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - c * s1 * s2;
}

/** The digit in this block, if one low and one high DTMF tone dominate it. */
export function detectDtmf(block: Float64Array): string | undefined {
  let energy = 0;
  for (let i = 0; i < block.length; i++) energy += block[i]! * block[i]!;
  if (energy / block.length < 100 * 100) return undefined;
  const lows = LOW_C.map((c) => goertzel(block, c));
  const highs = HIGH_C.map((c) => goertzel(block, c));
  const li = lows.indexOf(Math.max(...lows));
  const hi = highs.indexOf(Math.max(...highs));
  // Each tone must stand well above its row's others, and the pair must carry most of the energy.
  const dominant = (arr: number[], i: number) => arr.every((v, j) => j === i || v * 8 < arr[i]!);
  if (!dominant(lows, li) || !dominant(highs, hi)) return undefined;
  const tonePower = ((lows[li]! + highs[hi]!) * 2) / block.length;
  if (tonePower < 0.5 * energy) return undefined;
  return KEYS[li]![hi];
}

export class VoiceActivityDetector {
  readonly #endpointBlocks: number;
  readonly #threshold: number;
  #pending: Buffer = Buffer.alloc(0);
  #blocks = 0;
  #inSpeech = false;
  #voicedRun = 0;
  #silentRun = 0;
  #speechStart = 0;
  #lastVoiced = 0;
  #dtmf: string | undefined;
  #dtmfRun = 0;
  #dtmfReported = false;

  constructor(options: VadOptions) {
    this.#endpointBlocks = Math.max(1, Math.round(options.endpointingMs / 20));
    this.#threshold = options.threshold ?? 400;
  }

  /** Seconds of audio consumed so far. */
  get position(): number {
    return (this.#blocks * BLOCK) / RATE;
  }

  get inSpeech(): boolean {
    return this.#inSpeech;
  }

  /** Seconds of the current utterance so far (0 outside speech). */
  get speechSoFar(): number {
    return this.#inSpeech ? this.#lastVoiced - this.#speechStart : 0;
  }

  get speechStart(): number {
    return this.#speechStart;
  }

  push(ulaw: Buffer): VadEvent[] {
    const events: VadEvent[] = [];
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, ulaw]) : ulaw;
    let off = 0;
    for (; off + BLOCK <= this.#pending.length; off += BLOCK) this.#block(this.#pending.subarray(off, off + BLOCK), events);
    this.#pending = Buffer.from(this.#pending.subarray(off));
    return events;
  }

  /** Ends the current utterance now (Finalize). */
  flush(): VadEvent[] {
    if (!this.#inSpeech) return [];
    this.#inSpeech = false;
    this.#silentRun = 0;
    return [{ type: 'speech-end', start: this.#speechStart, end: this.position }];
  }

  #block(ulaw: Buffer, events: VadEvent[]): void {
    const pcm = mulaw.decode(ulaw);
    const x = new Float64Array(pcm.length);
    let sum = 0;
    for (let i = 0; i < pcm.length; i++) {
      x[i] = pcm[i]!;
      sum += x[i]! * x[i]!;
    }
    const t0 = this.position;
    this.#blocks++;
    const t1 = this.position;

    const digit = detectDtmf(x);
    if (digit && digit === this.#dtmf) this.#dtmfRun++;
    else {
      this.#dtmf = digit;
      this.#dtmfRun = digit ? 1 : 0;
      this.#dtmfReported = false;
    }
    // 40 ms of the same digit: the ITU minimum tone duration is 40 ms.
    if (digit && this.#dtmfRun >= 2 && !this.#dtmfReported) {
      this.#dtmfReported = true;
      events.push({ type: 'dtmf', digit, at: t0 });
    }
    const voiced = !digit && Math.sqrt(sum / pcm.length) > this.#threshold;
    if (voiced) {
      this.#voicedRun++;
      this.#silentRun = 0;
      this.#lastVoiced = t1;
      if (!this.#inSpeech && this.#voicedRun >= 2) {
        this.#inSpeech = true;
        this.#speechStart = t1 - 0.04;
        events.push({ type: 'speech-start', at: this.#speechStart });
      }
    } else {
      this.#voicedRun = 0;
      if (this.#inSpeech && ++this.#silentRun >= this.#endpointBlocks) {
        this.#inSpeech = false;
        this.#silentRun = 0;
        events.push({ type: 'speech-end', start: this.#speechStart, end: this.#lastVoiced });
      }
    }
  }
}
