import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { freeTcpPort } from '../../support/redis-server.js';
import { until } from '../../support/wait.js';

/**
 * A random base for a replica's media port range of `size` ports, below the kernel's ephemeral
 * range (32768 up) so no kernel-picked port lands in it; random so that tests running at the same
 * time rarely share one (a port taken anyway is skipped: the RTP allocator retries on EADDRINUSE).
 */
export function mediaBase(size: number): number {
  return 20_000 + Math.floor(Math.random() * Math.floor((12_000 - size) / 100)) * 100;
}

/** A UDP SIP sender bound to any loopback address (127.0.0.0/8), counting the answers it gets. */
export class UdpSender {
  readonly answers: Array<{ status: number; callId: string }> = [];
  private constructor(readonly socket: dgram.Socket, readonly address: string) {
    socket.on('message', (m) => {
      const t = m.toString('latin1');
      const status = Number(/^SIP\/2\.0 (\d{3})/.exec(t)?.[1]);
      if (status) this.answers.push({ status, callId: /^(?:Call-ID|i):\s*(\S+)/im.exec(t)?.[1] ?? '' });
    });
  }
  static async bind(address: string): Promise<UdpSender> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, address, () => r()));
    return new UdpSender(s, address);
  }
  get port(): number { return this.socket.address().port; }

  request(method: 'INVITE' | 'OPTIONS', to: { address: string; port: number }, extra: string[] = []): string {
    const callId = randomBytes(8).toString('hex');
    const msg = [
      `${method} sip:+15551230000@${to.address}:${to.port} SIP/2.0`,
      `Via: SIP/2.0/UDP ${this.address}:${this.port};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`,
      `From: <sip:+15550000066@${this.address}>;tag=${randomBytes(4).toString('hex')}`,
      `To: <sip:+15551230000@${to.address}>`,
      `Call-ID: ${callId}`, `CSeq: 1 ${method}`, `Contact: <sip:x@${this.address}:${this.port}>`, 'Max-Forwards: 70',
      ...extra, 'Content-Length: 0', '', '',
    ].join('\r\n');
    this.socket.send(msg, to.port, to.address);
    return callId;
  }

  /** Sends one request and waits for its final answer (undefined: none within `ms`). */
  async final(method: 'INVITE' | 'OPTIONS', to: { address: string; port: number }, extra: string[] = [], ms = 3000): Promise<number | undefined> {
    const id = this.request(method, to, extra);
    const found = () => this.answers.find((a) => a.callId === id && a.status >= 200);
    try { await until(() => found() !== undefined, `an answer to ${method}`, ms); } catch { return undefined; }
    return found()!.status;
  }

  close(): void { this.socket.close(); }
}

/** A private redis-server that wants a password (requirepass), on a free loopback port. */
export class PasswordRedis {
  proc: ChildProcess | undefined;
  port = 0;
  constructor(readonly password: string) {}
  get url(): string { return `redis://127.0.0.1:${this.port}`; }
  async start(): Promise<void> {
    this.port = await freeTcpPort();
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--requirepass', this.password, '--save', '', '--appendonly', 'no', '--loglevel', 'warning', '--dir', '/tmp'], { stdio: 'ignore' });
    const probe = new Redis({ port: this.port, host: '127.0.0.1', password: this.password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined); // refused connections while the server starts: retried below
    try {
      await until(async () => { try { await probe.connect(); return (await probe.ping()) === 'PONG'; } catch { probe.disconnect(); return false; } }, 'redis-server with requirepass', 10_000);
    } finally { probe.disconnect(); }
  }
  /** What the server answers a client that writes without AUTH (the raw RESP line). */
  answerWithoutPassword(): Promise<string> {
    return new Promise((resolve, reject) => {
      const c = connect(this.port, '127.0.0.1', () => c.write('SET wl:sec:probe 1\r\n'));
      c.once('data', (d) => { c.destroy(); resolve(d.toString().trim()); });
      c.once('error', reject);
    });
  }
  async keys(pattern: string): Promise<string[]> {
    const c = new Redis({ port: this.port, host: '127.0.0.1', password: this.password });
    try { return await c.keys(pattern); } finally { c.disconnect(); }
  }
  async stop(): Promise<void> {
    const p = this.proc; this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => { p.once('exit', () => r()); p.kill('SIGKILL'); });
  }
}

/** The gateway CLI with every line it writes (stdout logs and stderr) kept, for "never logged" checks. */
export function spawnLogged(env: Record<string, string>): { child: ChildProcess; output(): string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts'], {
    env: { ...process.env, WARMLINE_SERVER__HTTPPORT: '0', WARMLINE_SIP__PORT: '0', WARMLINE_LOG__LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  return { child, output: () => out, exit: new Promise((r) => child.once('exit', (c) => r(c))) };
}
