// Pieces of bench:flood, shared with test/integration/security/flood.test.ts: sipp floods from
// many loopback source addresses, a carrier's calls placed through them, hostile TCP/WS
// connections (slow and endless header blocks), and a gateway process's RSS from /proc.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const FLOOD_XML = fileURLToPath(new URL('./flood-invite.xml', import.meta.url));
const CALL_XML = fileURLToPath(new URL('../test/integration/calls/scenarios/call-hold-bye.xml', import.meta.url));

export interface SippTally { code: number | null; successful: number; failed: number; out: string; responses: Record<string, number> }

function runSipp(args: string[], timeoutS: number): Promise<SippTally> {
  const child = spawn('sipp', [...args, '-p', '0', '-nostdin', '-timeout', `${timeoutS}s`, '-max_socket', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-20_000); });
  child.stderr.on('data', (d: Buffer) => { out = (out + d.toString()).slice(-20_000); });
  return new Promise((resolve) => child.on('exit', (code) => {
    const cum = (label: string) => Number(new RegExp(`${label}\\s*\\|\\s*\\d+\\s*\\|\\s*(\\d+)`).exec(out)?.[1] ?? NaN);
    const responses: Record<string, number> = {};
    for (const m of out.matchAll(/^\s+(\d{3}) <-+\s+(\d+)/gm)) responses[m[1]!] = (responses[m[1]!] ?? 0) + Number(m[2]);
    resolve({ code, successful: cum('Successful call'), failed: cum('Failed call'), out, responses });
  }));
}

/** `sources` sipp processes, one per address 127.0.0.<first + i>, `rate` INVITEs/s in total for `seconds`; each sipp gives up after `timeoutS` (default `seconds` + 30). */
export async function sippFlood(target: { address: string; port: number }, o: { sources: number; rate: number; seconds: number; firstOctet?: number; timeoutS?: number }): Promise<{ sent: number; answered: number; unanswered: number; responses: Record<string, number>; perSource: SippTally[] }> {
  const each = Math.max(1, Math.round(o.rate / o.sources));
  const runs = Array.from({ length: o.sources }, (_, i) => runSipp([
    `${target.address}:${target.port}`, '-i', `127.0.0.${(o.firstOctet ?? 10) + i}`, '-sf', FLOOD_XML, '-s', '15551230000',
    '-r', String(each), '-m', String(each * o.seconds), '-l', String(each * 4), '-recv_timeout', '3000',
  ], o.timeoutS ?? o.seconds + 30));
  const perSource = await Promise.all(runs);
  const answered = perSource.reduce((n, r) => n + (r.successful || 0), 0);
  const unanswered = perSource.reduce((n, r) => n + (r.failed || 0), 0);
  const responses: Record<string, number> = {};
  for (const r of perSource) for (const [k, v] of Object.entries(r.responses)) responses[k] = (responses[k] ?? 0) + v;
  return { sent: each * o.seconds * o.sources, answered, unanswered, responses, perSource };
}

/** A carrier's real calls (INVITE with PCMU, hold, BYE) from `from`; successful / placed; sipp gives up after `timeoutS`. */
export function carrierCalls(target: { address: string; port: number }, from: string, calls: number, rate: number, holdMs = 500, timeoutS = 120): Promise<SippTally> {
  return runSipp([`${target.address}:${target.port}`, '-i', from, '-sf', CALL_XML, '-s', '15551230000', '-m', String(calls), '-r', String(rate), '-d', String(holdMs), '-recv_timeout', '10000', ...(process.env.WL_FLOOD_DEBUG ? ['-trace_err', '-error_file', `${process.env.WL_FLOOD_DEBUG}-carrier-err.log`] : [])], timeoutS);
}

/** RSS of a process in MB, from /proc. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Samples a process's RSS every `everyMs` until stopped: the peak and every sample. */
export function rssSampler(pid: number, everyMs = 200): { stop(): { peakMb: number; samples: number[] } } {
  const samples: number[] = [];
  const t = setInterval(() => { try { samples.push(rssMb(pid)); } catch { /* exited */ } }, everyMs);
  return { stop: () => { clearInterval(t); return { peakMb: Math.max(0, ...samples), samples }; } };
}

export interface HostileResult { opened: number; closedByPeer: number; stillOpen: number; bytesSent: number }

/**
 * `count` TCP connections from 127.0.0.<firstOctet…> that each start a SIP request and then
 * either trickle its header block one line at a time (`slow`) or send header lines forever,
 * never ending the block (`endless`), for `seconds`; how many the gateway closed.
 * With `ws`, the same against the WebSocket port's HTTP upgrade request.
 */
export async function hostileStreams(target: { address: string; port: number }, o: { count: number; mode: 'slow' | 'endless'; seconds: number; ws?: boolean; sources?: number; firstOctet?: number }): Promise<HostileResult> {
  const sockets: Socket[] = [];
  let closed = 0;
  let bytes = 0;
  const sources = o.sources ?? 8;
  await Promise.all(Array.from({ length: o.count }, (_, i) => new Promise<void>((resolve) => {
    const s = connect({ host: target.address, port: target.port, localAddress: `127.0.0.${(o.firstOctet ?? 100) + (i % sources)}` });
    s.on('error', () => undefined);
    s.once('close', () => { closed++; });
    s.once('connect', () => {
      const first = o.ws ? `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Protocol: sip\r\n` : `INVITE sip:x@${target.address} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK${i}\r\n`;
      s.write(first); bytes += first.length;
      resolve();
    });
    s.once('error', () => resolve());
    sockets.push(s);
  })));
  const line = (i: number) => `X-Filler-${i}: ${'a'.repeat(o.mode === 'endless' ? 1000 : 10)}\r\n`;
  const end = Date.now() + o.seconds * 1000;
  let n = 0;
  // Bounded: stops at the deadline whatever the gateway does.
  while (Date.now() < end) {
    for (const s of sockets) if (!s.destroyed && s.writable) { const l = line(n); s.write(l); bytes += l.length; }
    n++;
    await new Promise((r) => setTimeout(r, o.mode === 'slow' ? 1000 : 20));
  }
  const stillOpen = sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
  const closedByPeer = closed;
  for (const s of sockets) s.destroy();
  return { opened: sockets.length, closedByPeer, stillOpen, bytesSent: bytes };
}

/** The kernel's UDP receive-buffer drops so far (system-wide, /proc/net/snmp RcvbufErrors). */
export function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  return Number(values[names.indexOf('RcvbufErrors')] ?? NaN);
}

const EDGE_NFT = fileURLToPath(new URL('../config/kamailio/nftables-edge.nft', import.meta.url));

/** `nft` in network namespace `ns` (or in the one this process is in). */
function nft(ns: string | undefined, args: string[], input?: string): string {
  return execFileSync(ns ? 'ip' : 'nft', ns ? ['netns', 'exec', ns, 'nft', ...args] : args, { encoding: 'utf8', input });
}

/**
 * Loads config/kamailio/nftables-edge.nft as shipped, with its two defines set to the given SIP
 * ports and carrier addresses, into namespace `ns` (or this process's own: only ever called
 * inside a namespace a bench or test made, never on the host's tables).
 */
export function loadEdgeRuleset(o: { ports: number[]; carriers: string[]; ns?: string }): void {
  const text = readFileSync(EDGE_NFT, 'utf8')
    .replace(/^define SIP_PORTS = .*$/m, `define SIP_PORTS = { ${o.ports.join(', ')} }`)
    .replace(/^define CARRIERS_V4 = .*$/m, `define CARRIERS_V4 = { ${o.carriers.join(', ')} }`);
  nft(o.ns, ['-f', '-'], text);
}

/** Packets the edge ruleset dropped so far, by rule (its comment). */
export function edgeCounters(ns?: string): Record<string, number> {
  const out = JSON.parse(nft(ns, ['-j', 'list', 'chain', 'inet', 'warmline_edge', 'prerouting'])) as { nftables: Array<{ rule?: { comment?: string; expr: Array<{ counter?: { packets: number } }> } }> };
  const counts: Record<string, number> = {};
  for (const { rule } of out.nftables) {
    const packets = rule?.expr.find((e) => e.counter)?.counter?.packets;
    if (rule?.comment && packets !== undefined) counts[rule.comment] = packets;
  }
  return counts;
}
