import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import alawmulaw from 'alawmulaw';

/**
 * Real speech for the local TTS: espeak-ng compiled to WebAssembly (the npm
 * package espeak-ng), 22,050 Hz 16-bit WAV, low-pass filtered and decimated to
 * 8 kHz, µ-law encoded — what ElevenLabs' `ulaw_8000` output format delivers.
 *
 * The 18 MB module is compiled once; each phrase instantiates it anew (the
 * program is a CLI that runs main() once) — about 150 ms here instead of
 * 340 ms cold — and phrases are cached, so benchmarks measure the network.
 */
const { mulaw } = alawmulaw;

// Node 20's typings have no WebAssembly namespace; these are the two calls used.
interface WasmModule { readonly __wasmModule: true }
interface WasmInstance { readonly __wasmInstance: true }
declare const WebAssembly: {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<WasmInstance>;
};

type EspeakModule = { FS: { readFile(path: string): Uint8Array } };
type EspeakFactory = (opts: { arguments: string[]; instantiateWasm?: (imports: object, done: (i: WasmInstance) => void) => object; print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<EspeakModule>;

const require = createRequire(import.meta.url);
let compiled: Promise<{ factory: EspeakFactory; module: WasmModule }> | undefined;

function load(): Promise<{ factory: EspeakFactory; module: WasmModule }> {
  compiled ??= (async () => {
    const entry = require.resolve('espeak-ng');
    const wasm = readFileSync(join(dirname(entry), 'espeak-ng.wasm'));
    const [mod, module] = await Promise.all([import('espeak-ng') as Promise<{ default: unknown }>, WebAssembly.compile(wasm)]);
    return { factory: mod.default as EspeakFactory, module };
  })();
  return compiled;
}

/** Windowed-sinc low-pass at 3.4 kHz for 22,050 Hz input, then linear-phase decimation to 8 kHz. */
const IN_RATE = 22050;
const OUT_RATE = 8000;
const TAPS = 63;
const CUTOFF = 3400 / IN_RATE;
const KERNEL = (() => {
  const k = new Float64Array(TAPS);
  const m = (TAPS - 1) / 2;
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const x = i - m;
    const sinc = x === 0 ? 2 * CUTOFF : Math.sin(2 * Math.PI * CUTOFF * x) / (Math.PI * x);
    const hamming = 0.54 - 0.46 * Math.cos((2 * Math.PI * i) / (TAPS - 1));
    k[i] = sinc * hamming;
    sum += k[i]!;
  }
  for (let i = 0; i < TAPS; i++) k[i]! /= sum;
  return k;
})();

export function resampleTo8k(pcm: Int16Array, inRate = IN_RATE): Int16Array {
  const outLen = Math.floor((pcm.length * OUT_RATE) / inRate);
  const out = new Int16Array(outLen);
  const m = (TAPS - 1) / 2;
  for (let n = 0; n < outLen; n++) {
    // Sample the filtered signal at the output instant (nearest input sample: fine for speech at 8 kHz).
    const center = Math.round((n * inRate) / OUT_RATE);
    let acc = 0;
    for (let t = 0; t < TAPS; t++) {
      const i = center + t - m;
      if (i >= 0 && i < pcm.length) acc += pcm[i]! * KERNEL[t]!;
    }
    out[n] = Math.max(-32768, Math.min(32767, Math.round(acc)));
  }
  return out;
}

/** The PCM samples and rate of a canonical 16-bit mono WAV. */
export function parseWav(wav: Uint8Array): { pcm: Int16Array; rate: number } {
  const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  if (String.fromCharCode(...wav.subarray(0, 4)) !== 'RIFF') throw new Error('synthesizer output is not a WAV file');
  const rate = view.getUint32(24, true);
  let off = 12;
  while (off + 8 <= wav.length) {
    const id = String.fromCharCode(...wav.subarray(off, off + 4));
    let size = view.getUint32(off + 4, true);
    if (id === 'data') {
      // espeak writes 0x7fffffff as the data size when it streams; take what is there.
      size = Math.min(size, wav.length - off - 8);
      const bytes = wav.slice(off + 8, off + 8 + (size & ~1));
      return { pcm: new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2), rate };
    }
    off += 8 + size + (size & 1);
  }
  throw new Error('synthesizer WAV has no data chunk');
}

export class Synthesizer {
  readonly #cache = new Map<string, Buffer>();
  readonly #maxEntries: number;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #inFlight = new Map<string, Promise<Buffer>>();

  constructor(maxEntries = 256) {
    this.#maxEntries = maxEntries;
  }

  /** µ-law 8 kHz audio of `text` spoken by espeak-ng with the given voice (e.g. en-us). */
  synthesize(text: string, voice = 'en-us'): Promise<Buffer> {
    const key = `${voice}\u0000${text}`;
    const hit = this.#cache.get(key);
    if (hit) {
      // refresh LRU position
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return Promise.resolve(hit);
    }
    // One synthesis at a time: each instance takes 32 MB and the work is CPU-bound anyway.
    // Five contexts asking for the same phrase at once share one synthesis, not five in a row.
    const inFlight = this.#inFlight.get(key);
    if (inFlight) return inFlight;
    const run = this.#queue.then(() => this.#run(text, voice));
    this.#queue = run.catch(() => undefined);
    const result = run.then((audio) => {
      this.#cache.set(key, audio);
      if (this.#cache.size > this.#maxEntries) this.#cache.delete(this.#cache.keys().next().value!);
      return audio;
    }).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, result);
    return result;
  }

  async #run(text: string, voice: string): Promise<Buffer> {
    const { factory, module } = await load();
    const out = '/tmp/warmline-tts.wav';
    const instance = await factory({
      arguments: ['-v', voice, '-s', '165', '-w', out, text],
      instantiateWasm(imports, done) {
        WebAssembly.instantiate(module, imports).then(done, () => {});
        return {};
      },
      print: () => {},
      printErr: () => {},
    });
    const { pcm, rate } = parseWav(instance.FS.readFile(out));
    return Buffer.from(mulaw.encode(resampleTo8k(pcm, rate)));
  }
}
