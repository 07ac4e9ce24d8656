// bench:fuzz — coverage-guided fuzzing of the SIP parser (datagram and stream framing), the SDP
// parser and the RTP/RTCP parsers (bench/fuzz-engine.ts, bench/fuzz-targets.ts), each for a fixed
// time. A finding is an exception other than the parser's typed error, a reply we write back that
// does not parse, or one input slower than 50 ms. Findings become regression tests
// (test/unit/fuzz/regressions.test.ts).
//   npm run bench:fuzz -- --seconds 30 [--target sip|sdp|rtp-rtcp] [--seed 1] [--json]
// --seconds is per target. Single process, CPU only, no sockets.
import { fuzz, type FuzzResult } from './fuzz-engine.js';
import { targets } from './fuzz-targets.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const seconds = Number(arg('seconds') ?? 20);
const seed = Number(arg('seed') ?? 1);
const only = arg('target');
const json = process.argv.includes('--json');
if (!(seconds > 0 && seconds <= 3600)) throw new RangeError('--seconds must be in (0, 3600]');

const results: FuzzResult[] = [];
for (const t of targets) {
  if (only && t.name !== only) continue;
  const r = fuzz(t, seconds, seed);
  results.push(r);
  process.stderr.write(`${t.name}: ${r.execs} execs, ${r.blocksCovered} blocks, ${r.findings.length} finding(s)\n`);
}

console.log('target     seconds   execs   execs/s  corpus  blocks  features  findings');
for (const r of results) {
  console.log(`${r.target.padEnd(10)} ${r.seconds.toFixed(1).padStart(7)} ${String(r.execs).padStart(7)} ${String(r.execsPerSecond).padStart(9)} ${String(r.corpus).padStart(7)} ${String(r.blocksCovered).padStart(7)} ${String(r.features).padStart(9)} ${String(r.findings.length).padStart(9)}`);
}
for (const r of results) for (const f of r.findings) console.log(`  ${f.target} ${f.kind}: ${f.message}\n    input (base64): ${f.input.slice(0, 400)}${f.input.length > 400 ? '…' : ''}`);
if (json) console.log(JSON.stringify({ bench: 'fuzz', seed, secondsPerTarget: seconds, results }));
