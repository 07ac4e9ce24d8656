/**
 * bench:media:analytics — bench:media with and without the analytics store, in one run:
 * the same RTP load (CALLS calls both ways through one pacer) measured ROUNDS times each
 * way. Each round is a pair (off, on) whose order alternates ABBA-wise (off-on, on-off, …):
 * a drift that grows through the run (this shared machine's load, a warming page cache) then
 * falls on both sides alike instead of on whichever always ran second. The verdict compares
 * the mean paired difference (on − off) with its own 95 % interval: a change is measurable
 * only when the interval excludes 0. With
 * analytics on, the gateway process also runs the real Analytics (SQLite, bounded queue,
 * batch writer, sampler) fed the rows a gateway of that size produces
 * (bench/support/analytics-load.ts).
 *
 *   npm run bench:media:analytics [-- --json]      env: CALLS (500), SECONDS (15), ROUNDS (6), BASE_PORT (random even port in 61000–65000 per run)
 *
 * Goal: pacing jitter and arrival PDV within the run-to-run spread, analytics_rows_dropped 0.
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const json = process.argv.includes('--json');
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const MEDIA = fileURLToPath(new URL('./media.ts', import.meta.url));

interface MediaOut {
  pacing_jitter_p50_ms: number;
  pacing_jitter_p99_ms: number;
  arrival_pdv_p99_ms: number;
  rtp_loss: number;
  cpu_core_fraction: number;
  analytics: 'on' | 'off';
  analytics_rows_written: number;
  analytics_rows_dropped: number;
}

/** Other benchmarks on this machine may hold bench:media's ports: each run takes a range of its own, and one retry. */
async function runMedia(analytics: boolean): Promise<MediaOut> {
  try {
    return await runMediaOnce(analytics);
  } catch (err) {
    if (!/EADDRINUSE/.test((err as Error).message)) throw err;
    return runMediaOnce(analytics);
  }
}

function runMediaOnce(analytics: boolean): Promise<MediaOut> {
  const calls = Number(process.env.CALLS ?? 500);
  const base = process.env.BASE_PORT ?? String(61000 + 2 * Math.floor(Math.random() * ((65000 - 61000 - 2 * calls) / 2)));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MEDIA, '--json'], {
      // Our RTP stack's phase only (PCMU): this bench compares analytics off and on, not stacks.
      env: { ...process.env, PHASES: process.env.PHASES ?? 'pcmu', CALLS: String(calls), SECONDS: process.env.SECONDS ?? '15', BASE_PORT: base, ANALYTICS: analytics ? '1' : '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); process.stderr.write(d); });
    child.once('error', reject);
    child.once('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{')) reject(new Error(`bench:media exited ${code}: ${(out + err).slice(-1000)}`));
      else resolve(JSON.parse(last) as MediaOut);
    });
  });
}

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : NaN; };
const r3 = (x: number) => Number(x.toFixed(3));

/** Two-sided 97.5 % points of Student's t for 1–30 degrees of freedom (beyond: 1.96). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

interface Paired { mean: number; ci95: [number, number]; measurable: boolean }

/** Mean of the per-round differences (on − off) with a t interval; rounds pair the two runs made back to back. */
function paired(runs: MediaOut[], f: (r: MediaOut) => number): Paired {
  const d: number[] = [];
  for (let i = 0; i + 1 < runs.length; i += 2) {
    const on = runs[i]!.analytics === 'on' ? runs[i]! : runs[i + 1]!;
    const off = runs[i]!.analytics === 'on' ? runs[i + 1]! : runs[i]!;
    d.push(f(on) - f(off));
  }
  const n = d.length;
  const mean = d.reduce((a, x) => a + x, 0) / n;
  if (n < 2) return { mean: r3(mean), ci95: [NaN, NaN], measurable: false };
  const sd = Math.sqrt(d.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const half = (T975[n - 2] ?? 1.96) * sd / Math.sqrt(n);
  return { mean: r3(mean), ci95: [r3(mean - half), r3(mean + half)], measurable: mean - half > 0 || mean + half < 0 };
}

async function main(): Promise<number> {
  const loadStart = Number(loadavg()[0]!.toFixed(2));
  const runs: MediaOut[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const on of i % 2 === 0 ? [false, true] : [true, false]) {
      const r = await runMedia(on);
      runs.push(r);
      process.stderr.write(`round ${i + 1}/${ROUNDS} analytics ${r.analytics}: pacing p99 ${r.pacing_jitter_p99_ms} ms, arrival PDV p99 ${r.arrival_pdv_p99_ms} ms, rows written ${r.analytics_rows_written}, dropped ${r.analytics_rows_dropped}\n`);
    }
  }
  const side = (a: 'on' | 'off') => runs.filter((r) => r.analytics === a);
  const stat = (a: 'on' | 'off', f: (r: MediaOut) => number) => ({ median: r3(median(side(a).map(f))), min: r3(Math.min(...side(a).map(f))), max: r3(Math.max(...side(a).map(f))) });
  const out = {
    bench: 'media-analytics',
    calls: Number(process.env.CALLS ?? 500),
    rounds: ROUNDS,
    pacing_jitter_p99_ms: { off: stat('off', (r) => r.pacing_jitter_p99_ms), on: stat('on', (r) => r.pacing_jitter_p99_ms) },
    pacing_jitter_p50_ms: { off: stat('off', (r) => r.pacing_jitter_p50_ms), on: stat('on', (r) => r.pacing_jitter_p50_ms) },
    arrival_pdv_p99_ms: { off: stat('off', (r) => r.arrival_pdv_p99_ms), on: stat('on', (r) => r.arrival_pdv_p99_ms) },
    rtp_loss: { off: stat('off', (r) => r.rtp_loss), on: stat('on', (r) => r.rtp_loss) },
    cpu_core_fraction: { off: stat('off', (r) => r.cpu_core_fraction), on: stat('on', (r) => r.cpu_core_fraction) },
    on_minus_off: {
      pacing_jitter_p99_ms: paired(runs, (r) => r.pacing_jitter_p99_ms),
      pacing_jitter_p50_ms: paired(runs, (r) => r.pacing_jitter_p50_ms),
      arrival_pdv_p99_ms: paired(runs, (r) => r.arrival_pdv_p99_ms),
      cpu_core_fraction: paired(runs, (r) => r.cpu_core_fraction),
    },
    load_average: [loadStart, Number(loadavg()[0]!.toFixed(2))],
    analytics_rows_written: side('on').reduce((a, r) => a + r.analytics_rows_written, 0),
    analytics_rows_dropped: side('on').reduce((a, r) => a + r.analytics_rows_dropped, 0),
  };
  const row = (name: string, s: { off: ReturnType<typeof stat>; on: ReturnType<typeof stat> }) =>
    `${name.padEnd(26)}${`${s.off.median} (${s.off.min}–${s.off.max})`.padStart(24)}${`${s.on.median} (${s.on.min}–${s.on.max})`.padStart(24)}`;
  process.stdout.write([
    '',
    `bench:media:analytics — ${out.calls} calls, ${ROUNDS} runs each way (pairs in ABBA order), median (min–max) over runs`,
    '',
    `${'figure'.padEnd(26)}${'analytics off'.padStart(24)}${'analytics on'.padStart(24)}`,
    row('pacing jitter p50 ms', out.pacing_jitter_p50_ms),
    row('pacing jitter p99 ms', out.pacing_jitter_p99_ms),
    row('arrival PDV p99 ms', out.arrival_pdv_p99_ms),
    row('RTP loss', out.rtp_loss),
    row('gateway CPU (cores)', out.cpu_core_fraction),
    '',
    `on − off, mean of ${Math.floor(runs.length / 2)} back-to-back pairs [95 % interval]`,
    ...Object.entries(out.on_minus_off).map(([k, p]) =>
      `${k.padEnd(26)}${`${p.mean} [${p.ci95[0]}, ${p.ci95[1]}]`.padStart(28)}  ${p.measurable ? 'measurable change' : 'no measurable change'}`),
    `load average ${out.load_average[0]} → ${out.load_average[1]}`,
    '',
    `analytics_rows_written ${out.analytics_rows_written}   analytics_rows_dropped ${out.analytics_rows_dropped} (goal 0)`,
    '',
  ].join('\n'));
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
  return out.analytics_rows_dropped === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`bench:media:analytics failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
