import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { userInfo } from 'node:os';
import { CachingDns } from '../../sip/dns/index.js';
import { until } from './wait.js';

export interface DnsmasqRecords {
  /** --naptr-record=name,order,preference,flags,service,regexp,replacement */
  naptr?: string[];
  /** --srv-host=_service._prot.name,target,port,priority,weight */
  srv?: string[];
  /** --host-record=name,address */
  hosts?: string[];
  /** TTL of all of the above (dnsmasq --local-ttl). */
  ttl?: number;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A real DNS server on loopback: Debian's dnsmasq in the foreground on a free high port, serving
 * only the records given (--no-resolv --no-hosts; anything else under `.test` is NXDOMAIN).
 * Every query it receives is in `log` (--log-queries).
 */
export class Dnsmasq {
  proc: ChildProcess | undefined;
  port = 0;
  log = '';

  constructor(private readonly r: DnsmasqRecords) {}

  get server(): string { return `127.0.0.1:${this.port}`; }

  /** How many queries of `type` for `name` reached the server. */
  queries(type: string, name: string): number {
    return this.log.split('\n').filter((l) => l.includes(`query[${type}] ${name} `)).length;
  }

  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.port = await freeUdpPort();
      const args = [
        '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--local=/test/',
        '--listen-address=127.0.0.1', '--bind-interfaces', `--port=${this.port}`, '--pid-file=', `--user=${userInfo().username}`,
        '--log-facility=-', '--log-queries', `--local-ttl=${this.r.ttl ?? 30}`,
        ...(this.r.naptr ?? []).map((x) => `--naptr-record=${x}`),
        ...(this.r.srv ?? []).map((x) => `--srv-host=${x}`),
        ...(this.r.hosts ?? []).map((x) => `--host-record=${x}`),
      ];
      const p = spawn('dnsmasq', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.proc = p;
      this.log = '';
      const onData = (d: Buffer) => { this.log = (this.log + d.toString()).slice(-200_000); };
      p.stdout!.on('data', onData);
      p.stderr!.on('data', onData);
      const probe = new CachingDns({ servers: [this.server], timeoutMs: 300 });
      try {
        await until(async () => {
          if (p.exitCode !== null) throw new Error(`dnsmasq exited ${p.exitCode}: ${this.log.slice(-1000)}`);
          return probe.resolve4('probe.test').then(() => true, () => false);
        }, 'dnsmasq answering', 10_000);
        return;
      } catch (err) {
        await this.stop();
        // The TCP side of a port free for UDP may be taken: try another port (bounded).
        if (attempt >= 3) throw err;
      }
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => { p.once('exit', () => r()); p.kill('SIGTERM'); });
  }
}
