import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from '../../support/wait.js';

/**
 * Debian's HAProxy as the idle-cutting middlebox between the pools and the
 * upstreams: TCP mode (TLS passes through untouched), one frontend per
 * upstream on an ephemeral loopback port, and every timeout shortened to
 * `idleMs` so that a flow with no bytes either way for that long is cut, as
 * cloud load balancers and NATs do after 60–350 s.
 */
export class HaproxyMiddlebox {
  readonly ports: Record<string, number> = {};
  readonly #dir: string;
  readonly #socket: string;
  #proc: ChildProcess | undefined;

  private constructor(dir: string) {
    this.#dir = dir;
    this.#socket = join(dir, 'admin.sock');
  }

  static async start(targets: Record<string, string>, idleMs: number): Promise<HaproxyMiddlebox> {
    const box = new HaproxyMiddlebox(mkdtempSync(join(tmpdir(), 'warmline-haproxy-')));
    try {
      for (const name of Object.keys(targets)) box.ports[name] = await freePort();
      const sections = Object.entries(targets).map(([name, url]) => {
        const u = new URL(url);
        return `listen ${name}\n  bind 127.0.0.1:${box.ports[name]}\n  server s1 127.0.0.1:${u.port}\n`;
      });
      const cfg = [
        'global',
        `  stats socket ${box.#socket} level admin`,
        '  maxconn 1000',
        'defaults',
        '  mode tcp',
        '  timeout connect 2s',
        `  timeout client ${idleMs}ms`,
        `  timeout server ${idleMs}ms`,
        `  timeout tunnel ${idleMs}ms`,
        ...sections,
      ].join('\n');
      const file = join(box.#dir, 'haproxy.cfg');
      writeFileSync(file, `${cfg}\n`);
      box.#proc = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      box.#proc.stderr!.on('data', (c: Buffer) => { if (err.length < 4000) err += c.toString(); });
      const exited = new Promise<never>((_, reject) => box.#proc!.once('exit', (code) => reject(new Error(`haproxy exited with ${code}: ${err}`))));
      await Promise.race([exited, box.#waitListening()]);
      return box;
    } catch (e) {
      await box.close();
      throw e;
    }
  }

  async #waitListening(): Promise<void> {
    await until(() => new Promise<boolean>((r) => {
      const s = connect(Object.values(this.ports)[0]!, '127.0.0.1');
      s.once('connect', () => { s.destroy(); r(true); });
      s.once('error', () => r(false));
    }), 'haproxy listening', 10_000);
  }

  url(name: string, scheme: 'wss' | 'https'): string {
    return `${scheme}://127.0.0.1:${this.ports[name]}`;
  }

  /** An admin command on the stats socket (e.g. `shutdown sessions server asr/s1`). */
  command(cmd: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = connect(this.#socket);
      let out = '';
      s.on('data', (c) => { out += c.toString(); });
      s.once('error', reject);
      s.once('close', () => resolve(out));
      s.end(`${cmd}\n`);
    });
  }

  async close(): Promise<void> {
    const p = this.#proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const gone = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await gone;
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}
