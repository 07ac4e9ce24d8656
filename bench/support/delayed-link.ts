/**
 * A delayed link between two network namespaces: real TCP, real handshakes, a real
 * round-trip time. `tc netem` is not available on this kernel (sch_netem is not built
 * in: `tc qdisc add dev lo root netem delay 20ms` answers "Specified qdisc kind is
 * unknown", and there is no modprobe), so two TAP devices, one in each namespace, are
 * joined by a userspace forwarder (delay-forwarder.py) that holds every frame
 * `oneWayDelayMs` in each direction.
 *
 * Only addresses inside the two namespaces created here are ever used (10.213.0.1/30
 * and 10.213.0.2/30; each link has its own namespaces, so two links never clash).
 */
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { defineBenchError } from './errors.js';

const execFileAsync = promisify(execFile);
const FORWARDER = fileURLToPath(new URL('./delay-forwarder.py', import.meta.url));

export const DelayedLinkUnavailableError = defineBenchError<{ reason: string }>(
  'BENCH_ERR_NETEM_UNAVAILABLE',
  'DelayedLinkUnavailableError',
  (c) => `a namespace delayed link cannot be built here: ${c.reason}`,
);
export const DelayedLinkSetupError = defineBenchError<{ step: string; detail: string }>(
  'BENCH_ERR_NETEM_SETUP',
  'DelayedLinkSetupError',
  (c) => `delayed link setup failed at '${c.step}': ${c.detail}`,
);
export const DelayedLinkOptionsError = defineBenchError<{ option: string; value: unknown; expected: string }>(
  'BENCH_ERR_NETEM_OPTIONS',
  'DelayedLinkOptionsError',
  (c) => `delayed link option ${c.option}=${JSON.stringify(c.value)}: expected ${c.expected}`,
);

export interface DelayedLinkOptions {
  /** Delay added to every frame in each direction; the RTT is about twice this. */
  oneWayDelayMs: number;
  /** Short label (letters/digits, ≤ 8) for the namespace names; default "link". */
  name?: string;
}

export type LinkSide = 'A' | 'B';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface DelayedLink {
  readonly emulation: 'netns-tap-forwarder';
  readonly oneWayDelayMs: number;
  readonly nsA: string;
  readonly nsB: string;
  /** Address of side A (inside nsA only). */
  readonly addrA: string;
  /** Address of side B (inside nsB only). */
  readonly addrB: string;
  /** Runs a command inside a side's namespace to completion; rejects on non-zero exit. */
  exec(side: LinkSide, argv: readonly string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<ExecResult>;
  /** Starts a long-running command inside a side's namespace; killed by close() if still running. */
  spawn(side: LinkSide, argv: readonly string[], options?: SpawnOptions): ChildProcess;
  /** Kills spawned children and the forwarder, deletes both namespaces. Idempotent. */
  close(): Promise<void>;
}

/** Why a namespace link cannot be built here, or undefined when it can. */
export async function delayedLinkUnavailableReason(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `platform is ${process.platform}, not linux`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return `not root (uid ${process.getuid()}); network namespaces and TAP devices need CAP_NET_ADMIN`;
  }
  try {
    await access('/dev/net/tun', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/net/tun is missing or not read/writable';
  }
  for (const tool of [['ip', '-V'], ['python3', '--version']] as const) {
    try {
      await execFileAsync(tool[0], [tool[1]]);
    } catch {
      return `'${tool[0]}' is not installed`;
    }
  }
  return undefined;
}

let linkCounter = 0;
const openLinks = new Set<string>();
let exitHookInstalled = false;

/** Last resort: a process that exits without close() still leaves no namespaces behind. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const ns of openLinks) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
  });
}

async function ip(step: string, args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('ip', [...args], { timeout: 10_000 });
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr?.trim() || (err as Error).message;
    throw new DelayedLinkSetupError({ step: `${step}: ip ${args.join(' ')}`, detail });
  }
}

function waitReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const done = (e?: Error): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onOut);
      child.stderr?.off('data', onErr);
      child.off('exit', onExit);
      if (e) reject(e);
      else resolve();
    };
    const onOut = (d: Buffer): void => {
      out += d.toString();
      if (out.includes('ready\n')) done();
    };
    const onErr = (d: Buffer): void => {
      err += d.toString();
    };
    const onExit = (code: number | null): void =>
      done(new DelayedLinkSetupError({ step: 'start forwarder', detail: `exited with ${code}: ${err.trim()}` }));
    const timer = setTimeout(
      () => done(new DelayedLinkSetupError({ step: 'start forwarder', detail: `no "ready" within ${timeoutMs} ms` })),
      timeoutMs,
    );
    child.stdout?.on('data', onOut);
    child.stderr?.on('data', onErr);
    child.on('exit', onExit);
  });
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
    child.kill('SIGTERM');
  });
}

export async function createDelayedLink(options: DelayedLinkOptions): Promise<DelayedLink> {
  const delay = options.oneWayDelayMs;
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0 || delay > 10_000) {
    throw new DelayedLinkOptionsError({ option: 'oneWayDelayMs', value: delay, expected: 'a number of ms in 0..10000' });
  }
  const label = options.name ?? 'link';
  if (!/^[a-z0-9]{1,8}$/i.test(label)) {
    throw new DelayedLinkOptionsError({ option: 'name', value: label, expected: '1-8 letters or digits' });
  }
  const reason = await delayedLinkUnavailableReason();
  if (reason) throw new DelayedLinkUnavailableError({ reason });

  const n = ++linkCounter;
  const tag = `${process.pid % 100000}${n}`;
  const nsA = `wl-${label}-${tag}-a`;
  const nsB = `wl-${label}-${tag}-b`;
  // IFNAMSIZ is 16 including the NUL.
  const tapA = `wl${tag}a`.slice(0, 15);
  const tapB = `wl${tag}b`.slice(0, 15);
  const addrA = '10.213.0.1';
  const addrB = '10.213.0.2';
  const macA = '02:57:4c:00:00:01';
  const macB = '02:57:4c:00:00:02';
  const children = new Set<ChildProcess>();
  let forwarder: ChildProcess | undefined;
  let closed: Promise<void> | undefined;

  const close = (): Promise<void> => {
    closed ??= (async () => {
      await Promise.all([...children].map((c) => stopChild(c, 2000)));
      if (forwarder) await stopChild(forwarder, 2000);
      for (const ns of [nsA, nsB]) {
        try {
          await execFileAsync('ip', ['netns', 'del', ns], { timeout: 10_000 });
        } catch {
          // never created, or already gone
        }
        openLinks.delete(ns);
      }
    })();
    return closed;
  };

  try {
    installExitHook();
    for (const ns of [nsA, nsB]) {
      openLinks.add(ns);
      await ip('create namespace', ['netns', 'add', ns]);
    }
    // The forwarder creates both TAPs in the root namespace; a TAP keeps its file
    // descriptor when moved, so each is then moved into its own namespace.
    forwarder = spawn('python3', [FORWARDER, tapA, tapB, String(delay)], { stdio: ['pipe', 'pipe', 'pipe'] });
    await waitReady(forwarder, 10_000);
    const sides = [
      { ns: nsA, tap: tapA, addr: addrA, mac: macA, peer: addrB, peerMac: macB },
      { ns: nsB, tap: tapB, addr: addrB, mac: macB, peer: addrA, peerMac: macA },
    ];
    for (const s of sides) {
      await ip('move tap', ['link', 'set', s.tap, 'netns', s.ns]);
      await ip('set mac', ['-n', s.ns, 'link', 'set', s.tap, 'address', s.mac]);
      await ip('add address', ['-n', s.ns, 'addr', 'add', `${s.addr}/30`, 'dev', s.tap]);
      await ip('link up', ['-n', s.ns, 'link', 'set', s.tap, 'up']);
      await ip('loopback up', ['-n', s.ns, 'link', 'set', 'lo', 'up']);
      // A permanent neighbour entry: without it the first packet waits one delayed ARP
      // round trip, which no production path pays.
      await ip('static neighbour', ['-n', s.ns, 'neigh', 'replace', s.peer, 'lladdr', s.peerMac, 'dev', s.tap, 'nud', 'permanent']);
    }
  } catch (err) {
    await close();
    throw err;
  }

  const nsOf = (side: LinkSide): string => {
    if (side !== 'A' && side !== 'B') {
      throw new DelayedLinkOptionsError({ option: 'side', value: side, expected: "'A' or 'B'" });
    }
    return side === 'A' ? nsA : nsB;
  };

  return {
    emulation: 'netns-tap-forwarder',
    oneWayDelayMs: delay,
    nsA,
    nsB,
    addrA,
    addrB,
    async exec(side, argv, opts) {
      const ns = nsOf(side);
      if (closed) throw new DelayedLinkSetupError({ step: 'exec', detail: 'link is closed' });
      const r = await execFileAsync('ip', ['netns', 'exec', ns, ...argv], {
        timeout: opts?.timeoutMs ?? 60_000,
        env: opts?.env ?? process.env,
        maxBuffer: 64 * 1024 * 1024,
      });
      return { stdout: r.stdout, stderr: r.stderr };
    },
    spawn(side, argv, opts) {
      const ns = nsOf(side);
      if (closed) throw new DelayedLinkSetupError({ step: 'spawn', detail: 'link is closed' });
      const child = spawn('ip', ['netns', 'exec', ns, ...argv], opts ?? {});
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    close,
  };
}
