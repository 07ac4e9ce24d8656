import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import alawmulaw from 'alawmulaw';

/**
 * Real words for the local ASR: Debian's offline recognizer (`pocketsphinx`,
 * 0.8+5prealpha in Debian 12, with `pocketsphinx-en-us`). Its CLI,
 * `pocketsphinx_continuous -infile /dev/stdin`, decodes raw 16 kHz 16-bit
 * audio as it arrives and prints one line per utterance it hears.
 *
 * One process per utterance keeps words and utterances in step (the process's
 * own segmentation never has to match the server's VAD): the model takes about
 * 0.6 s of CPU to load, so a spare process is kept loaded once speech has been
 * heard, and the next utterance starts on it with no wait. Processes past
 * `maxProcesses` are not started: that utterance falls back to the stand-in.
 */
const { mulaw } = alawmulaw;

export const SPHINX_BIN = 'pocketsphinx_continuous';
export const SPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us/en-us';

/** `auto`: pocketsphinx when installed, else the stand-in; `vad`: always the stand-in. */
export type RecognizerChoice = 'auto' | 'vad';

/** Whether the recognizer can run here, and why not when it cannot. */
export function sphinxAvailability(): { available: true; bin: string } | { available: false; reason: string } {
  const bin = (process.env.PATH ?? '/usr/bin').split(delimiter).map((d) => join(d, SPHINX_BIN)).find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!bin) return { available: false, reason: `${SPHINX_BIN} is not on PATH (Debian: apt-get install pocketsphinx pocketsphinx-en-us)` };
  try {
    accessSync(join(SPHINX_MODEL_DIR, 'mdef'), constants.R_OK);
  } catch {
    return { available: false, reason: `no English model at ${SPHINX_MODEL_DIR} (Debian: apt-get install pocketsphinx-en-us)` };
  }
  return { available: true, bin };
}

type Proc = ChildProcessByStdio<Writable, Readable, null>;

/** bash: close every descriptor above 2 this shell inherited (multi-digit ones too, which sh cannot name). */
const CLOSE_INHERITED = 'for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done 2>/dev/null';

/** The shell, cat and the recognizer: the whole group. */
function kill(p: Proc): void {
  if (p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** One utterance being recognized: µ-law 8 kHz in, words out. */
export class SphinxUtterance {
  readonly #proc: Proc;
  readonly #words: Promise<string>;
  #prev = 0;
  #ended = false;

  constructor(proc: Proc, timeoutMs: number) {
    this.#proc = proc;
    const lines: string[] = [];
    let buffered = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (s: string) => {
      buffered += s;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const p of parts) if (p.trim()) lines.push(p.trim());
    });
    // A write after the process died is not this utterance's failure to report twice: exit/timeout settle it.
    proc.stdin.on('error', () => {});
    this.#words = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        kill(proc);
        reject(new Error(`${SPHINX_BIN} took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      proc.once('error', (err) => { clearTimeout(timer); reject(err); });
      proc.once('close', (code, signal) => {
        clearTimeout(timer);
        if (buffered.trim()) lines.push(buffered.trim());
        if (code === 0) resolve(lines.join(' '));
        else reject(new Error(`${SPHINX_BIN} exited with ${code ?? signal}`));
      });
    });
    // Nobody may await an aborted utterance's words: keep its rejection from reaching Node.
    this.#words.catch(() => {});
  }

  /** µ-law 8 kHz, upsampled to 16 kHz by linear interpolation (the recognizer's model is 16 kHz). */
  push(ulaw: Buffer): void {
    if (this.#ended || ulaw.length === 0) return;
    const pcm = mulaw.decode(ulaw);
    const out = new Int16Array(pcm.length * 2);
    let prev = this.#prev;
    for (let i = 0; i < pcm.length; i++) {
      const s = pcm[i]!;
      out[2 * i] = (prev + s) >> 1;
      out[2 * i + 1] = s;
      prev = s;
    }
    this.#prev = prev;
    this.#proc.stdin.write(Buffer.from(out.buffer, out.byteOffset, out.byteLength));
  }

  /** The words heard ('' for none): half a second of silence closes the recognizer's utterance, then end of input. */
  end(): Promise<string> {
    if (!this.#ended) {
      this.#ended = true;
      this.#proc.stdin.end(Buffer.alloc(16_000));
    }
    return this.#words;
  }

  abort(): void {
    this.#ended = true;
    kill(this.#proc);
  }
}

export interface SphinxOptions {
  bin: string;
  /** Recognizer processes alive at once (spare included). Default 4. */
  maxProcesses?: number;
  /** An utterance whose words take longer is given up. Default 20000. */
  timeoutMs?: number;
}

export class SphinxRecognizer {
  readonly #bin: string;
  readonly #max: number;
  readonly #timeoutMs: number;
  readonly #live = new Set<Proc>();
  #spare: Proc | undefined;
  #closed = false;

  constructor(o: SphinxOptions) {
    this.#bin = o.bin;
    this.#max = o.maxProcesses ?? 4;
    this.#timeoutMs = o.timeoutMs ?? 20_000;
  }

  #spawn(): Proc | undefined {
    if (this.#closed || this.#live.size >= this.#max) return undefined;
    // Node's stdio "pipes" are socketpairs, and open("/dev/stdin") on a socket fails (ENXIO):
    // `cat |` gives the recognizer a real pipe. Its own process group, so a kill takes both.
    // Every inherited descriptor above stdio is closed first: native code in this process (the
    // WebRTC stack's ICE sockets) opens sockets without close-on-exec, and a recognizer kept as
    // the spare would hold a browser call's UDP port long after the call ended.
    const proc = spawn('bash', ['-c', `${CLOSE_INHERITED}; cat | exec "$0" -infile /dev/stdin -logfn /dev/null`, this.#bin], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    this.#live.add(proc);
    proc.once('close', () => {
      this.#live.delete(proc);
      if (this.#spare === proc) this.#spare = undefined;
    });
    // A spawn failure surfaces through the utterance that uses the process; a spare's is dropped with it.
    proc.on('error', () => this.#live.delete(proc));
    return proc;
  }

  /** A new utterance on the loaded spare (or a fresh process); undefined when at the process cap. */
  start(): SphinxUtterance | undefined {
    const proc = this.#spare && this.#spare.exitCode === null ? this.#spare : this.#spawn();
    this.#spare = undefined;
    if (!proc) return undefined;
    const utterance = new SphinxUtterance(proc, this.#timeoutMs);
    this.#spare = this.#spawn();
    return utterance;
  }

  close(): void {
    this.#closed = true;
    for (const p of this.#live) kill(p);
    this.#live.clear();
    this.#spare = undefined;
  }
}
