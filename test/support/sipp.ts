import { spawn, type ChildProcess } from 'node:child_process';

export interface SippRun {
  child: ChildProcess;
  /** Resolves when sipp exits: its exit code (0: every call succeeded) and everything it printed. */
  done: Promise<{ code: number | null; out: string }>;
}

/**
 * Runs sipp as a carrier against `target` on loopback. `-timeout_error` makes
 * a scenario that never finishes a failure, so a test never hangs on sipp.
 */
export function sipp(target: { address: string; port: number }, args: string[], timeoutS = 60): SippRun {
  const child = spawn('sipp', [`${target.address}:${target.port}`, '-i', '127.0.0.1', '-p', '0', '-nostdin', '-timeout', `${timeoutS}s`, '-timeout_error', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const done = new Promise<{ code: number | null; out: string }>((resolve) => child.on('exit', (code) => resolve({ code, out })));
  return { child, done };
}
