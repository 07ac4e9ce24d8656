// bench:calls' gateway: one process started as `npm start` starts it (the same V8 flags, the CLI
// under tsx), optionally pinned to one core with taskset, its upstreams served by the local
// protocol-compatible servers running in the harness process (so their CPU — TLS, TTS synthesis,
// the recogniser — is not counted as the gateway's), leases in memory.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLocalUpstreams, type LocalUpstreams } from '../../src/local/index.js';
import { productionFlags } from './production-flags.js';

const CLK_TCK = 100; // Linux USER_HZ

/** utime + stime of a process, in ms, from /proc. */
export function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(f[11]) + Number(f[12])) / CLK_TCK) * 1000;
}

/** A process's peak resident set (VmHWM), in MB. */
export function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Whether taskset can pin here (the package util-linux, and more than one core to share out). */
export function canPin(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface HeldNow { rtpPorts: number; pacerStreams: number; leases: number; sipTransactions: number }
export interface CallsTotals { answered: number; refused: number; ended: Record<string, number> }

export interface BenchGateway {
  pid: number;
  url: string;
  sip: { address: string; port: number };
  held(): Promise<{ held: HeldNow; totals: CallsTotals; active: number }>;
  /** Per upstream: connections opened, replaced, keepalives failed since start (/api/pools). */
  pools(): Promise<Record<string, { opens: number; replacements: number; keepaliveFailures: number; exhausted: number }>>;
  stop(): Promise<void>;
}

export interface GatewayRun {
  /** Concurrent calls the pools must serve at once: each is one ASR socket and a TTS context. */
  concurrency: number;
  dir: string;
  /** CPUs for the gateway (taskset -c), or undefined: not pinned. */
  cpus: string | undefined;
  logLevel: string;
  /** Writes a V8 CPU profile of the gateway into this directory at its exit. */
  cpuProfDir: string | undefined;
  env?: Record<string, string>;
  /** V8 flags instead of `npm start`'s (package.json). */
  nodeFlags?: string[];
  /** The gateway's log (its stdout) goes here; default: discarded. */
  logFile?: string;
}

/** The local upstreams in this process, sized for `concurrency` ASR streams. */
export function startUpstreams(concurrency: number): Promise<LocalUpstreams> {
  return startLocalUpstreams({ asrRecognizer: 'vad', asrMaxStreams: Math.max(50, concurrency * 2) });
}

export async function startGateway(up: LocalUpstreams, o: GatewayRun): Promise<BenchGateway> {
  const caFile = join(o.dir, 'ca.pem');
  writeFileSync(caFile, up.ca);
  const asr = Math.ceil(o.concurrency * 1.25) + 2;
  // One TTS socket carries 5 contexts (ElevenLabs' limit, upstreams.tts.contextsPerSocket).
  const tts = Math.ceil(asr / 5) + 1;
  const env: Record<string, string> = {
    ...process.env as Record<string, string>,
    NODE_EXTRA_CA_CERTS: caFile,
    WARMLINE_SERVER__HTTPPORT: '0', WARMLINE_SIP__PORT: '0', WARMLINE_SIP__TRANSPORTS: '[udp]',
    WARMLINE_LOG__LEVEL: o.logLevel,
    WARMLINE_ANALYTICS__DATADIR: join(o.dir, 'analytics'),
    WARMLINE_DEMO__ENABLED: 'false',
    // sipp is one source placing every call: the per-source limit is the carrier's, not the bench's.
    WARMLINE_SIP__RATE__PERSECOND: '100000', WARMLINE_SIP__RATE__BURST: '100000',
    WARMLINE_CALLS__MAXCONCURRENT: String(Math.max(1000, asr * 2)),
    WARMLINE_MEDIA__PORTMIN: '30000', WARMLINE_MEDIA__PORTMAX: '39999',
    WARMLINE_POOLS__ASR__MIN: String(asr), WARMLINE_POOLS__ASR__MAX: String(asr * 2),
    WARMLINE_POOLS__TTS__MIN: String(tts), WARMLINE_POOLS__TTS__MAX: String(tts * 2),
    WARMLINE_POOLS__LLM__MIN: '2', WARMLINE_POOLS__CRM__MIN: '1',
    ...Object.fromEntries(['ASR', 'TTS', 'LLM', 'CRM'].map((n) => [`WARMLINE_POOLS__${n}__KEEPALIVETIMEOUTMS`, '10000'])),
    ...Object.fromEntries((['asr', 'tts', 'llm', 'crm'] as const).flatMap((n) => [
      [`WARMLINE_UPSTREAMS__${n.toUpperCase()}__BASEURL`, up[n].url],
      [`WARMLINE_UPSTREAMS__${n.toUpperCase()}__APIKEY`, 'local-dev-key'],
    ])),
    ...o.env,
  };
  const node = [...(o.nodeFlags ?? productionFlags()), ...(o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : []), '--import', 'tsx', 'src/cli/main.ts'];
  const p = await spawnPinned(node, env, o.cpus, o.logFile ? openSync(o.logFile, 'w') : 'ignore', /warmline ready: /, 'the gateway', 120_000);
  const m = /warmline ready: (http:\/\/[^ ]+) sip:([^ ]+):(\d+)/.exec(p.stderr())!;
  const url = m[1]!;
  return {
    pid: p.child.pid!,
    url,
    sip: { address: m[2]!, port: Number(m[3]) },
    async held() {
      const v = await (await fetch(`${url}/api/calls`)).json() as { held: HeldNow; totals: CallsTotals; active: unknown[] };
      return { held: v.held, totals: v.totals, active: v.active.length };
    },
    async pools() {
      const list = await (await fetch(`${url}/api/pools`)).json() as Array<{ name: string; opens: number; replacements: number; keepaliveFailures: number; exhausted: number }>;
      const out: Record<string, { opens: number; replacements: number; keepaliveFailures: number; exhausted: number }> = {};
      for (const p of list) {
        const o = (out[p.name] ??= { opens: 0, replacements: 0, keepaliveFailures: 0, exhausted: 0 });
        o.opens += p.opens; o.replacements += p.replacements; o.keepaliveFailures += p.keepaliveFailures; o.exhausted += p.exhausted;
      }
      return out;
    },
    // SIGTERM: a drain and a clean exit, so that --cpu-prof writes its profile.
    stop: () => p.stop(30_000),
  };
}

interface Pinned { child: ChildProcess; stderr(): string; stop(killAfterMs: number): Promise<void> }

/**
 * A node process of the bench's, pinned with taskset to `cpus` when given (taskset execs node: the
 * child's pid is node's), once its stderr says `ready`; its stderr's last 20 kB kept for parsing.
 */
async function spawnPinned(node: string[], env: Record<string, string | undefined>, cpus: string | undefined, stdout: number | 'ignore', ready: RegExp, what: string, timeoutMs: number): Promise<Pinned> {
  const child: ChildProcess = cpus
    ? spawn('taskset', ['-c', cpus, process.execPath, ...node], { env, stdio: ['ignore', stdout, 'pipe'] })
    : spawn(process.execPath, node, { env, stdio: ['ignore', stdout, 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-20_000); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + timeoutMs;
  while (!ready.test(err)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${what} did not start: ${err.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    stderr: () => err,
    async stop(killAfterMs) {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface BareStats { calls: number; ended: number; rtpIn: number; rtpOut: number; asrFrames: number; ttsMessages: number; sipIn: number; sipOut: number; active: number }
export interface BareServer { pid: number; sip: { address: string; port: number }; stats(): Promise<BareStats>; stop(): Promise<void> }

/**
 * The bare baseline (bench/support/calls-bare.ts) in its own process: the gateway's V8 flags, pinned
 * like it, talking to the same local upstreams, with as many ASR sockets as the gateway's pool minimum
 * would hold for `concurrency` and a TTS socket per 5 of them.
 */
export async function startBare(up: LocalUpstreams, o: { concurrency: number; dir: string; cpus: string | undefined; nodeFlags?: string[]; greeting: string }): Promise<BareServer> {
  const caFile = join(o.dir, 'ca.pem');
  writeFileSync(caFile, up.ca);
  const asr = Math.ceil(o.concurrency * 1.25) + 2;
  const env: Record<string, string> = {
    ...process.env as Record<string, string>, NODE_EXTRA_CA_CERTS: caFile,
    BARE_ASR_URL: up.asr.url, BARE_TTS_URL: up.tts.url, BARE_API_KEY: 'local-dev-key', BARE_GREETING: o.greeting,
    BARE_ASR_SOCKETS: String(asr), BARE_TTS_SOCKETS: String(Math.ceil(asr / 5) + 1),
  };
  const node = [...(o.nodeFlags ?? productionFlags()), '--import', 'tsx', 'bench/support/calls-bare.ts'];
  const p = await spawnPinned(node, env, o.cpus, 'ignore', /bare ready: /, 'the bare baseline', 60_000);
  const { child } = p;
  const m = /bare ready: sip:([^:]+):(\d+)/.exec(p.stderr())!;
  return {
    pid: child.pid!,
    sip: { address: m[1]!, port: Number(m[2]) },
    async stats() {
      const mark = p.stderr().length;
      child.kill('SIGUSR2');
      const until = Date.now() + 5000;
      while (Date.now() < until) {
        const err = p.stderr();
        const s = /bare stats (\{.*\})\n/.exec(err.slice(Math.min(mark, err.length - 1)));
        if (s) return JSON.parse(s[1]!) as BareStats;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('the bare baseline did not report its stats');
    },
    stop: () => p.stop(10_000),
  };
}
