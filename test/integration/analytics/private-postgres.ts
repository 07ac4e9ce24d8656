import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A PostgreSQL of the test's own (Debian's binaries, a temporary cluster on a
 * free loopback port), so a test can stop and restart it without touching the
 * machine's server on 5432. initdb refuses root: as root it runs as `postgres`.
 */
export class PrivatePostgres {
  readonly dir: string;
  readonly port: number;
  readonly #asUser: string[];

  private constructor(dir: string, port: number, asUser: string[]) {
    this.dir = dir;
    this.port = port;
    this.#asUser = asUser;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'wl-pg-'));
    const root = process.getuid?.() === 0;
    if (root) {
      chmodSync(dir, 0o700);
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      chownSync(dir, uid, gid);
    }
    const pg = new PrivatePostgres(dir, await freePort(), root ? ['runuser', '-u', 'postgres', '--'] : []);
    await pg.#exec(`${BIN}/initdb`, ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    await pg.start();
    return pg;
  }

  async #exec(cmd: string, args: string[]): Promise<void> {
    const [file, ...rest] = [...this.#asUser, cmd, ...args];
    await run(file!, rest, { timeout: 60_000 });
  }

  async start(): Promise<void> {
    await this.#exec(`${BIN}/pg_ctl`, ['-D', join(this.dir, 'data'), '-l', join(this.dir, 'log'), '-w', '-t', '60', 'start',
      '-o', `-c listen_addresses=127.0.0.1 -p ${this.port} -c unix_socket_directories=${this.dir} -c fsync=off -c shared_buffers=16MB -c max_connections=20`]);
  }

  async stop(): Promise<void> {
    await this.#exec(`${BIN}/pg_ctl`, ['-D', join(this.dir, 'data'), '-w', '-t', '60', '-m', 'fast', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
