/**
 * bench:sip — how many calls a second the SIP stack answers with zero failures.
 *
 *   npm run bench:sip [-- --json] [--seconds 30] [--rates 100,200,400,600,800] [--transport udp|tcp]
 *
 * sipp's built-in UAC places calls (INVITE → 200 → ACK, hold 1 s, BYE) against
 * the stack answering in a separate process (bench/support/sip-answer-server.ts);
 * each rate runs for `--seconds`; the stack's CPU is read from /proc for that
 * process alone. `cps` is the highest rate with zero failed calls.
 * Then `bench/support/sip-registrations.ts` holds `--registrations` (10,000)
 * standing registrations against a private Kamailio with `--reg-expires`
 * (60 s, so that refreshes run inside the window) and measures the refresh
 * CPU; `--no-registrations` skips it.
 * `--transport tcp` runs the same calls over one TCP connection (sipp -t t1,
 * as a carrier trunk would).
 * After the last rate the stack idles `--settle` seconds (40) and reports its
 * RSS, heap (after a full GC) and the calls it still holds: what a finished
 * burst of calls leaves behind.
 * `--slow-tcp N` runs only the slow-sender attack instead: N connections
 * (1,000) each parked with 60 KB of a header block that never ends, against
 * the stack without and then with its connection rules; it reports how many
 * are still open after `--hold` seconds (15) and the stack's RSS.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { measureRegistrations } from './support/sip-registrations.js';
import { measureSlowTcp } from './support/sip-slow-tcp.js';
import { productionFlags } from './support/production-flags.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const arg = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : def;
};
const seconds = Number(arg('--seconds', '30'));
const rates = arg('--rates', '100,200,400,600,800').split(',').map(Number).filter((n) => n > 0 && n <= 2000);
if (!(seconds > 0 && seconds <= 120) || rates.length === 0) {
  process.stderr.write('bench:sip: --seconds must be 1–120 and --rates a list of 1–2000\n');
  process.exit(64);
}

if (args.includes('--slow-tcp')) {
  const count = Number(arg('--slow-tcp', '1000'));
  const holdS = Number(arg('--hold', '15'));
  const runs = [];
  for (const guarded of [false, true]) runs.push(await measureSlowTcp({ guarded, count, bytes: 60_000, holdS }));
  process.stdout.write('rules      connections  open after hold  RSS parked (MB)  RSS after hold (MB)  refusals\n');
  for (const r of runs) process.stdout.write(`${(r.guarded ? 'on' : 'off').padEnd(9)}  ${String(r.connections).padStart(11)}  ${String(r.open_after_hold).padStart(15)}  ${String(r.rss_mb_parked).padStart(15)}  ${String(r.rss_mb_after_hold).padStart(19)}  ${JSON.stringify(r.rejections)}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ bench: 'sip-slow-tcp', hold_s: holdS, runs })}\n`);
  process.exit(0);
}

const CLK_TCK = 100; // Linux USER_HZ
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime + stime
}
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

const transportName = arg('--transport', 'udp');
if (transportName !== 'udp' && transportName !== 'tcp') {
  process.stderr.write('bench:sip: --transport must be udp or tcp\n');
  process.exit(64);
}

// npm start's V8 flags, so that the memory measured here is the memory production would hold;
// `--server-flags` overrides them ('' for Node's defaults).
const serverFlags = args.includes('--server-flags') ? arg('--server-flags', '').split(/\s+/).filter(Boolean) : productionFlags();

function startServer(): Promise<{ child: ChildProcess; port: number; pid: number }> {
  const child = spawn(process.execPath, [...serverFlags, '--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./support/sip-answer-server.ts', import.meta.url)), '--transport', transportName], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => {
      const { port, pid } = JSON.parse(d.toString().split('\n')[0]!) as { port: number; pid: number };
      resolve({ child, port, pid });
    });
    child.once('exit', (c) => reject(new Error(`answer server exited ${c}`)));
  });
}

function runSipp(port: number, rate: number): Promise<{ ok: boolean; successful: number; failed: number }> {
  const calls = rate * seconds;
  return new Promise((resolve) => {
    const child = spawn('sipp', [`127.0.0.1:${port}`, ...(transportName === 'tcp' ? ['-t', 't1'] : []), '-sn', 'uac', '-i', '127.0.0.1', '-p', '0', '-nostdin', '-r', String(rate), '-m', String(calls),
      '-l', String(rate * 4), '-d', '1000', '-timeout', `${seconds + 30}s`, '-timeout_error', '-max_socket', '10000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString().slice(-20000); });
    child.stderr.on('data', () => {});
    child.on('exit', (code) => {
      const cum = (label: string) => Number(new RegExp(`${label}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`).exec(out)?.[1] ?? NaN);
      const successful = cum('Successful call');
      const failed = cum('Failed call');
      resolve({ ok: code === 0 && failed === 0 && successful === calls, successful, failed: Number.isNaN(failed) ? calls : failed });
    });
  });
}

const settleS = Number(arg('--settle', '40'));

interface ServerSnapshot { answered: number; active_calls: number; heap_used_mb: number; heap_total_mb: number; external_mb: number; array_buffers_mb: number; rss_mb: number }
function snapshot(child: ChildProcess): Promise<ServerSnapshot> {
  return new Promise((resolve) => {
    child.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString().trim().split('\n').pop()!) as ServerSnapshot));
    child.kill('SIGUSR2');
  });
}

const withRegistrations = !args.includes('--no-registrations');
const registrationCount = Number(arg('--registrations', '10000'));
const regExpires = Number(arg('--reg-expires', '60'));

const server = await startServer();
// What the stack holds before any call: "after settle" is judged against it (issue 9 asks ≤ 2×).
await new Promise((r) => setTimeout(r, 2000));
const before = await snapshot(server.child);
let rss = 0;
let settled: ServerSnapshot | undefined;
const rows: Array<{ rate: number; ok: boolean; successful: number; failed: number; cpu: number }> = [];
try {
  for (const rate of rates) {
    const cpu0 = cpuSeconds(server.pid);
    const t0 = performance.now();
    const r = await runSipp(server.port, rate);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = (cpuSeconds(server.pid) - cpu0) / elapsed;
    rows.push({ rate, ...r, cpu });
    if (!r.ok) break;
  }
  rss = rssMb(server.pid);
  if (settleS > 0) {
    await new Promise((r) => setTimeout(r, settleS * 1000));
    settled = await snapshot(server.child);
  }
} finally {
  if (!rss) rss = rssMb(server.pid);
  server.child.kill('SIGTERM');
}
const reg = withRegistrations ? await measureRegistrations({ count: registrationCount, expires: regExpires }) : undefined;
{
  const best = [...rows].reverse().find((r) => r.ok);
  const result = {
    bench: 'sip',
    transport: transportName,
    seconds_per_rate: seconds,
    hold_ms: 1000,
    cps: best?.rate ?? 0,
    failed_calls: best?.failed ?? rows[0]?.failed ?? 0,
    cpu_core_fraction: Math.round((best?.cpu ?? 0) * 1000) / 1000,
    rss_mb: Math.round(rss * 10) / 10,
    settle_s: settled ? settleS : null,
    server_flags: serverFlags.join(' '),
    malloc_arena_max: process.env.MALLOC_ARENA_MAX ?? null,
    rss_before_mb: before.rss_mb,
    after_settle: settled ? {
      rss_mb: settled.rss_mb, rss_over_before: Math.round((settled.rss_mb / before.rss_mb) * 100) / 100,
      heap_used_mb: settled.heap_used_mb, heap_total_mb: settled.heap_total_mb, external_mb: settled.external_mb, array_buffers_mb: settled.array_buffers_mb,
      calls_held: settled.active_calls, calls_answered: settled.answered,
    } : null,
    rates: rows.map((r) => ({ rate: r.rate, successful: r.successful, failed: r.failed, cpu_core_fraction: Math.round(r.cpu * 1000) / 1000 })),
    registrations: reg?.registrations ?? null,
    registration_refresh_cpu_core_fraction: reg?.registration_refresh_cpu_core_fraction ?? null,
    registration_expires_s: withRegistrations ? regExpires : null,
    registration_rss_mb: reg?.rss_mb ?? null,
  };
  process.stdout.write('rate cps  successful  failed  stack CPU (cores)\n');
  for (const r of rows) process.stdout.write(`${String(r.rate).padStart(8)}  ${String(r.successful).padStart(10)}  ${String(r.failed).padStart(6)}  ${r.cpu.toFixed(3)}\n`);
  process.stdout.write(`cps (highest with zero failures): ${result.cps}   rss ${result.rss_mb} MB\n`);
  process.stdout.write(`before the first call: rss ${before.rss_mb} MB, heap ${before.heap_used_mb} MB\n`);
  if (settled) {
    process.stdout.write(`${settleS} s after the last call: rss ${settled.rss_mb} MB (${result.after_settle!.rss_over_before}× before), heap ${settled.heap_used_mb} MB used of ${settled.heap_total_mb} MB after GC, external ${settled.external_mb} MB (array buffers ${settled.array_buffers_mb} MB), calls held ${settled.active_calls} of ${settled.answered} answered\n`);
  }
  if (reg) process.stdout.write(`standing registrations ${reg.registrations} (Expires ${regExpires} s): refresh CPU ${reg.registration_refresh_cpu_core_fraction} cores, ${reg.refreshes_in_window} refreshes in ${reg.measure_s} s\n`);
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`);
}
