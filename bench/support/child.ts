import type { ChildProcess } from 'node:child_process';

/* Child processes of the benchmarks: a role in another namespace or process that reports with one JSON line. */

/** Reads the first JSON line a child prints, bounded in time. */
export function readJsonLine<T>(child: ChildProcess, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => finish(new Error(`no JSON line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      for (const line of buf.split('\n').slice(0, -1)) {
        if (line.startsWith('{')) {
          try {
            return finish(undefined, JSON.parse(line) as T);
          } catch {
            // not ours; keep reading
          }
        }
      }
    };
    const onExit = (code: number | null): void => finish(new Error(`child process exited with ${code} before it printed its JSON line`));
    function finish(err?: Error, value?: T): void {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    }
    child.stdout?.on('data', onData);
    child.on('exit', onExit);
  });
}

export function waitExit(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

