import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

/**
 * A private redis-server on 127.0.0.1 for tests that kill Redis: the shared one on 6379 belongs to
 * everyone else. No persistence (--save "" --appendonly no), so a restart comes back empty, which
 * is the harder case for leases (fence counters and slots are gone).
 *
 *   const redis = new RedisServer(); before(() => redis.start()); after(() => redis.dispose());
 */
export class RedisServer {
  proc: ChildProcess | undefined;
  port = 0;
  log = '';

  get url(): string { return `redis://127.0.0.1:${this.port}`; }
  get running(): boolean { return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null; }

  /** Starts on a free port the first time, on the same port afterwards (a restart). */
  async start(): Promise<void> {
    if (this.running) return;
    if (!this.port) this.port = await freeTcpPort();
    const p = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--protected-mode', 'no', '--loglevel', 'warning', '--dir', '/tmp',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    const onData = (d: Buffer) => { this.log = (this.log + d.toString()).slice(-10_000); };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    const end = Date.now() + 10_000;
    // The port was free a moment ago; readiness is a PING answered, not the process existing.
    while (!(await ping(this.port))) {
      if (p.exitCode !== null) throw new Error(`redis-server exited ${p.exitCode}: ${this.log.slice(-1000)}`);
      if (Date.now() > end) throw new Error(`redis-server on ${this.port} did not answer PING: ${this.log.slice(-1000)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Abrupt death: SIGKILL, as a crashed or OOM-killed Redis. Resolves once the process is gone. */
  async kill(): Promise<void> { await this.#signal('SIGKILL'); }

  /** Freezes Redis (SIGSTOP): connections stay open but nothing answers, the nastier outage. */
  pause(): void { this.proc?.kill('SIGSTOP'); }
  resume(): void { this.proc?.kill('SIGCONT'); }

  async restart(): Promise<void> { await this.kill(); await this.start(); }

  async dispose(): Promise<void> {
    this.resume();
    await this.kill();
  }

  async #signal(signal: NodeJS.Signals): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => { p.once('exit', () => resolve()); p.kill(signal); });
  }
}

export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    const done = (ok: boolean) => { c.destroy(); resolve(ok); };
    c.setTimeout(500, () => done(false));
    c.once('error', () => done(false));
    c.once('connect', () => c.write('PING\r\n'));
    c.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}
