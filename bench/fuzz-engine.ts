// A small coverage-guided fuzzer for the parsers, in the libFuzzer mould: mutate an input from the
// corpus, run the target, keep the input when it reached a code block (or a hit-count bucket of a
// block) no input reached before. Coverage is V8's own precise block coverage, read through the
// inspector after every run: no instrumentation, no native addon. (@jazzer.js/core 4.0.0 installs
// from npm, but its prebuilt addon needs glibc 2.38 and Debian 12 has 2.36; 2.1.0 downloads its
// addon from GitHub at install time.)
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';

export interface FuzzTarget {
  name: string;
  /** Only blocks in files whose URL contains one of these count as coverage. */
  files: readonly string[];
  seeds: readonly Buffer[];
  dictionary: readonly string[];
  maxLength: number;
  /** Runs one input; throws only for a finding (an expected rejection is caught inside). */
  run(input: Buffer): void;
}

export interface Finding { target: string; kind: 'crash' | 'slow'; message: string; input: string /* base64 */ }

export interface FuzzResult {
  target: string;
  seconds: number;
  execs: number;
  execsPerSecond: number;
  corpus: number;
  blocksCovered: number;
  features: number;
  findings: Finding[];
}

interface ScriptCoverage { url: string; functions: Array<{ ranges: Array<{ startOffset: number; endOffset: number; count: number }> }> }

/** Deterministic xorshift32: a run is reproducible from its seed. */
export class Rng {
  #s: number;
  constructor(seed: number) { this.#s = seed >>> 0 || 0x9e3779b9; }
  next(): number { let x = this.#s; x ^= x << 13; x ^= x >>> 17; x ^= x << 5; this.#s = x >>> 0; return this.#s; }
  below(n: number): number { return n <= 0 ? 0 : this.next() % n; }
  pick<T>(a: readonly T[]): T { return a[this.below(a.length)]!; }
}

const INTERESTING = ['0', '-1', '1', '65535', '65536', '2147483647', '2147483648', '4294967296', '99999999999999999999', '1e9', 'NaN', '0x10', '007', ''];

/** AFL's hit-count buckets: a loop taken 1, 2, 3, 4–7, 8–15… times are different features. */
function bucket(n: number): number {
  if (n <= 3) return n;
  if (n < 8) return 4;
  if (n < 16) return 5;
  if (n < 32) return 6;
  if (n < 128) return 7;
  return 8;
}

function mutate(rng: Rng, input: Buffer, t: FuzzTarget, corpus: readonly Buffer[]): Buffer {
  let b = Buffer.from(input);
  const rounds = 1 + rng.below(4);
  for (let r = 0; r < rounds; r++) {
    const at = rng.below(b.length + 1);
    switch (rng.below(11)) {
      case 0: if (b.length) b[rng.below(b.length)]! ^= 1 << rng.below(8); break;
      case 1: if (b.length) b[rng.below(b.length)] = rng.below(256); break;
      case 2: b = Buffer.concat([b.subarray(0, at), Buffer.from(rng.pick(t.dictionary), 'latin1'), b.subarray(at)]); break;
      case 3: { const n = 1 + rng.below(Math.min(64, b.length || 1)); b = Buffer.concat([b.subarray(0, at), b.subarray(at + n)]); break; }
      case 4: { const n = 1 + rng.below(32); const from = rng.below(b.length || 1); b = Buffer.concat([b.subarray(0, at), b.subarray(from, from + n), b.subarray(at)]); break; }
      case 5: { // a number somewhere becomes an interesting one
        const s = b.toString('latin1');
        const nums = [...s.matchAll(/\d+/g)];
        if (nums.length) { const m = rng.pick(nums); b = Buffer.from(s.slice(0, m.index) + rng.pick(INTERESTING) + s.slice(m.index! + m[0].length), 'latin1'); }
        break;
      }
      case 6: { // a whole line is repeated (duplicate headers) or dropped
        const lines = b.toString('latin1').split('\r\n');
        const i = rng.below(lines.length);
        if (rng.below(2)) lines.splice(i, 0, lines[i]!); else lines.splice(i, 1);
        b = Buffer.from(lines.join('\r\n'), 'latin1');
        break;
      }
      case 7: { const other = rng.pick(corpus); const cut = rng.below(other.length + 1); b = Buffer.concat([b.subarray(0, at), other.subarray(cut)]); break; }
      case 8: b = b.subarray(0, at); break;
      case 9: { const n = 1 + rng.below(16); b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: n }, () => rng.below(256))), b.subarray(at)]); break; }
      default: { const tok = Buffer.from(rng.pick(t.dictionary), 'latin1'); const reps = 1 + rng.below(200); b = Buffer.concat([b.subarray(0, at), Buffer.alloc(tok.length * reps, tok), b.subarray(at)]); break; }
    }
    if (b.length > t.maxLength) b = b.subarray(0, t.maxLength);
  }
  return b;
}

/** The inspector's same-thread session answers synchronously: post() has called back on return. */
function postSync<T>(s: Session, method: string, params?: object): T {
  let out: T | undefined;
  let error: Error | null = null;
  s.post(method, params ?? {}, (err, res) => { error = err; out = res as T; });
  if (error) throw error;
  if (out === undefined) throw new Error(`inspector ${method} did not answer synchronously`);
  return out;
}

/**
 * Fuzzes one target for `seconds` or `maxExecs` runs, whichever ends first (the loop checks
 * both every batch), and returns
 * what it found. Slow inputs (over `slowMs`) are findings too: a parser that takes that long on
 * one datagram is a denial of service.
 */
export function fuzz(t: FuzzTarget, seconds: number, seed: number, slowMs = 50, maxExecs = Infinity): FuzzResult {
  const session = new Session();
  session.connect();
  postSync(session, 'Profiler.enable');
  postSync(session, 'Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  const rng = new Rng(seed);
  const seen = new Set<string>();
  const blocks = new Set<string>();
  const corpus: Buffer[] = [];
  const findings: Finding[] = [];
  const findingKeys = new Set<string>();
  const files = t.files;

  /** Features reached since the last call; with commit, recorded as seen. */
  const newFeatures = (commit = true): number => {
    const { result } = postSync<{ result: ScriptCoverage[] }>(session, 'Profiler.takePreciseCoverage');
    let fresh = 0;
    for (const sc of result) {
      if (!files.some((f) => sc.url.includes(f))) continue;
      for (const fn of sc.functions) {
        for (const r of fn.ranges) {
          if (r.count === 0) continue;
          const block = `${sc.url}:${r.startOffset}:${r.endOffset}`;
          const key = `${block}:${bucket(r.count)}`;
          if (!seen.has(key)) { fresh++; if (commit) { seen.add(key); blocks.add(block); } }
        }
      }
    }
    return fresh;
  };

  const run = (input: Buffer): void => {
    const started = performance.now();
    try {
      t.run(input);
    } catch (err) {
      const message = err instanceof Error ? `${err.name}: ${err.message}`.slice(0, 300) : String(err);
      // One finding per distinct message shape (digits folded), not thousands of the same bug.
      const key = message.replace(/\d+/g, 'N').slice(0, 120);
      if (!findingKeys.has(key)) { findingKeys.add(key); findings.push({ target: t.name, kind: 'crash', message, input: input.toString('base64') }); }
    }
    const ms = performance.now() - started;
    if (ms > slowMs && !findingKeys.has('slow')) {
      // A loaded machine or a GC pause can make any input slow once: confirm on the best of three.
      let best = ms;
      for (let i = 0; i < 3; i++) { const t0 = performance.now(); try { t.run(input); } catch { /* recorded above */ } best = Math.min(best, performance.now() - t0); }
      if (best > slowMs) { findingKeys.add('slow'); findings.push({ target: t.name, kind: 'slow', message: `${best.toFixed(1)} ms (best of 4) for ${input.length} bytes`, input: input.toString('base64') }); }
    }
  };
  const exec = (input: Buffer): number => { run(input); return newFeatures(); };

  newFeatures(); // whatever ran before the loop is not the target's coverage
  for (const s of t.seeds) { exec(s); corpus.push(s); }
  const start = performance.now();
  const end = start + seconds * 1000;
  let execs = 0;
  // Coverage is read once per batch (reading it costs more than most runs); only a batch that
  // reached something new is replayed input by input to find which inputs to keep.
  const BATCH = 16;
  while (performance.now() < end && execs < maxExecs) {
    const batch: Buffer[] = [];
    for (let i = 0; i < BATCH; i++) {
      const child = mutate(rng, rng.pick(corpus), t, corpus);
      batch.push(child);
      run(child);
    }
    execs += BATCH;
    if (newFeatures(false) === 0) continue;
    for (const child of batch) if (exec(child) > 0) corpus.push(child);
  }
  const elapsed = (performance.now() - start) / 1000;
  postSync(session, 'Profiler.stopPreciseCoverage');
  session.disconnect();
  return { target: t.name, seconds: elapsed, execs, execsPerSecond: Math.round(execs / elapsed), corpus: corpus.length, blocksCovered: blocks.size, features: seen.size, findings };
}
