import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KamailioOptions {
  port?: number;
  realm?: string;
  /** auth module nonce lifetime in seconds (short for stale-nonce tests). */
  nonceExpire?: number;
  algorithm?: 'MD5' | 'SHA-256';
  /** Max Expires the registrar grants. */
  maxExpires?: number;
  children?: number;
  /**
   * Run this script instead of the generated registrar (e.g. config/kamailio/dispatcher.cfg),
   * with `-A NAME=value` defines; the script must listen on 127.0.0.1:`port` and answer OPTIONS.
   */
  script?: { file: string; defines: Record<string, string> };
}

/**
 * A private Kamailio registrar on 127.0.0.1: usrloc in memory, digest auth with
 * the password rule "pw-" + username (so any number of accounts work without a
 * database). A REGISTER without Contact is a binding query and needs no auth.
 */
export class Kamailio {
  proc: ChildProcess | undefined;
  readonly dir = mkdtempSync(join(tmpdir(), 'wl-kamailio-'));
  port = 0;
  log = '';

  constructor(private readonly o: KamailioOptions = {}) {}

  static password(user: string): string { return `pw-${user}`; }

  async start(): Promise<void> {
    if (!this.port) this.port = this.o.port ?? (await freeUdpPort());
    let cfg = join(this.dir, 'kamailio.cfg');
    const defines: string[] = [];
    if (this.o.script) {
      cfg = this.o.script.file;
      for (const [k, v] of Object.entries(this.o.script.defines)) defines.push('-A', `${k}=${v}`);
      // dispatcher.cfg's replica-side socket: a free port of its own unless the caller named one.
      if (!('INTERNAL_ADDR' in this.o.script.defines)) defines.push('-A', `INTERNAL_ADDR=127.0.0.1:${await freeUdpPort()}`);
    } else {
      writeFileSync(cfg, config(this.port, this.o));
    }
    const p = spawn('kamailio', ['-f', cfg, ...defines, '-DD', '-E', '-Y', this.dir, '-P', join(this.dir, 'k.pid'), '-w', this.dir], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.proc = p;
    const onData = (d: Buffer) => { this.log = (this.log + d.toString()).slice(-20000); };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    await waitUntil(async () => {
      if (p.exitCode !== null) throw new Error(`kamailio exited ${p.exitCode}: ${this.log.slice(-2000)}`);
      return (await optionsPing(this.port)) === 200;
    }, 15000);
  }

  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    // Kamailio forks its workers; they share the listening socket, so the whole process group goes.
    await new Promise<void>((r) => { p.once('exit', () => r()); try { process.kill(-p.pid!, 'SIGKILL'); } catch { p.kill('SIGKILL'); } });
    // The workers hold the socket until they too are gone: the port is free when it can be bound.
    await waitUntil(() => udpPortFree(this.port), 10_000);
  }

  async dispose(): Promise<void> { await this.stop(); rmSync(this.dir, { recursive: true, force: true }); }

  /** Contacts currently bound to user@domain (REGISTER query without Contact, RFC 3261 §10.2.3). */
  bindings(user: string, domain = '127.0.0.1'): Promise<string[]> {
    const msg = `REGISTER sip:${domain} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${Math.random().toString(36).slice(2)};rport\r\nFrom: <sip:${user}@${domain}>;tag=q1\r\nTo: <sip:${user}@${domain}>\r\nCall-ID: q${Math.random()}\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
    return udpExchange(this.port, msg).then((res) => {
      if (!/^SIP\/2\.0 200/.test(res)) throw new Error(`binding query failed: ${res.split('\r\n')[0]}`);
      return res.split('\r\n').filter((l) => /^(Contact|m):/i.test(l)).map((l) => l.replace(/^[^:]+:\s*/, ''));
    });
  }
}

function config(port: number, o: KamailioOptions): string {
  const mp = '/usr/lib/x86_64-linux-gnu/kamailio/modules/';
  return `#!KAMAILIO
debug=1
log_stderror=yes
children=${o.children ?? 2}
auto_aliases=no
listen=udp:127.0.0.1:${port}
mpath="${mp}"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", ${o.maxExpires ?? 3600})
modparam("registrar", "min_expires", 1)
modparam("auth", "nonce_expire", ${o.nonceExpire ?? 300})
modparam("auth", "algorithm", "${o.algorithm ?? 'MD5'}")
modparam("auth", "qop", "auth")
request_route {
  if (!mf_process_maxfwd_header("10")) { sl_send_reply("483", "Too Many Hops"); exit; }
  if (is_method("OPTIONS")) { sl_send_reply("200", "OK"); exit; }
  if (!is_method("REGISTER")) { sl_send_reply("405", "Method Not Allowed"); exit; }
  if (!is_present_hf("Contact")) { save("location"); exit; }
  $var(pw) = "pw-" + $fU;
  if (!pv_www_authenticate("${o.realm ?? '127.0.0.1'}", "$var(pw)", "0")) {
    # -4: nonce expired. Flag 16 adds stale=true (RFC 7616 §3.3), flag 1 qop=auth.
    if ($rc == -4) { www_challenge("${o.realm ?? '127.0.0.1'}", "17"); exit; }
    www_challenge("${o.realm ?? '127.0.0.1'}", "1");
    exit;
  }
  consume_credentials();
  if (!save("location")) { sl_reply_error(); }
  exit;
}
`;
}

export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
}

function udpExchange(port: number, msg: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => { s.close(); reject(new Error('no answer')); }, timeoutMs);
    s.on('message', (m) => {
      const text = m.toString();
      if (/^SIP\/2\.0 1\d\d/.test(text)) return;
      clearTimeout(t); s.close(); resolve(text);
    });
    s.bind(0, '127.0.0.1', () => s.send(msg, port, '127.0.0.1'));
  });
}

async function optionsPing(port: number): Promise<number | undefined> {
  const msg = `OPTIONS sip:127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${Math.random().toString(36).slice(2)};rport\r\nFrom: <sip:ping@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: p${Math.random()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
  try { return Number((await udpExchange(port, msg, 500)).split(' ')[1]); } catch { return undefined; }
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => {
      try { s.close(); } catch { /* never bound */ }
      resolve(false);
    });
    s.bind(port, '127.0.0.1', () => { s.close(); resolve(true); });
  });
}

async function waitUntil(f: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await f()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out waiting for kamailio');
}
