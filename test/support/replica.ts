import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './wait.js';

export interface GatewayProcess {
  child: ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  exit: Promise<number | null>;
}

/**
 * The run command as a user types it, minus npm: the CLI under tsx, on the
 * embedded defaults plus `env` (WARMLINE_A__B overrides), HTTP and SIP on
 * free ports, logs at warn.
 */
export function spawnGateway(args: string[] = [], env: Record<string, string> = {}): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    // Test calls must not land in the developer's own history (data/analytics.sqlite).
    env: { ...process.env, WARMLINE_SERVER__HTTPPORT: '0', WARMLINE_SIP__PORT: '0', WARMLINE_LOG__LEVEL: 'warn', WARMLINE_ANALYTICS__DATADIR: join(tmpdir(), 'warmline-test-analytics'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  child.stdout!.resume();
  const exit = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return { child, stderr: () => err, exit };
}

export interface Replica extends GatewayProcess {
  /** The ops server (http://host:port). */
  url: string;
  sip: { address: string; port: number };
  kill(signal?: NodeJS.Signals): void;
}

/**
 * A gateway as an operator runs it (spawnGateway), once it has printed its
 * ready line, which names the ops URL and the SIP address.
 */
export async function startReplica(env: Record<string, string> = {}, args: string[] = [], timeoutMs = 60_000): Promise<Replica> {
  const { child, stderr, exit } = spawnGateway(args, env);
  try {
    await until(() => /warmline ready: /.test(stderr()) || child.exitCode !== null, 'the ready line', timeoutMs);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  const m = /warmline ready: (http:\/\/[^ ]+) sip:([^ ]+):(\d+)/.exec(stderr());
  if (!m) throw new Error(`replica did not start: ${stderr().slice(-2000)}`);
  return {
    child, url: m[1]!, sip: { address: m[2]!, port: Number(m[3]) }, stderr, exit,
    kill: (signal = 'SIGKILL') => { if (child.exitCode === null) child.kill(signal); },
  };
}
