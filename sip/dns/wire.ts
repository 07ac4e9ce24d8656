import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { isIP } from 'node:net';
import { randomBytes } from 'node:crypto';
import { SipDnsError } from './errors.js';

/**
 * A minimal DNS stub client (RFC 1035) for the four record types RFC 3263 needs. It exists
 * because node:dns gives no TTL for NAPTR and SRV answers, and the cache must honour them.
 * UDP first; a truncated answer (TC) is asked again over TCP.
 */

export type RecordType = 'A' | 'AAAA' | 'SRV' | 'NAPTR';
const TYPE_CODE: Record<RecordType, number> = { A: 1, AAAA: 28, SRV: 33, NAPTR: 35 };
const SOA = 6;

export interface NaptrRecord { flags: string; service: string; regexp: string; replacement: string; order: number; preference: number }
export interface SrvRecord { priority: number; weight: number; port: number; name: string }
export interface RecordOf { A: string; AAAA: string; SRV: SrvRecord; NAPTR: NaptrRecord }

/** `records` is empty for NXDOMAIN and NODATA; `ttl` (seconds) is then the negative-caching TTL (RFC 2308). */
export interface DnsAnswer<T> { records: T[]; ttl: number }

export interface DnsServer { address: string; port: number }

/** "ip", "ip:port" or "[v6]:port". */
export function parseDnsServer(s: string): DnsServer {
  const v6 = /^\[(.+)\](?::(\d+))?$/.exec(s);
  if (v6) return { address: v6[1]!, port: Number(v6[2] ?? 53) };
  if (isIP(s) === 6) return { address: s, port: 53 };
  const m = /^([^:]+)(?::(\d+))?$/.exec(s);
  if (!m || isIP(m[1]!) === 0) throw new SipDnsError('SIP_ERR_DNS_QUERY', `not a DNS server address: ${s}`, { server: s });
  return { address: m[1]!, port: Number(m[2] ?? 53) };
}

function encodeQuery(id: number, name: string, type: RecordType): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l !== '');
  const parts: Buffer[] = [Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])]; // RD, one question
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    if (b.length > 63) throw new SipDnsError('SIP_ERR_DNS_QUERY', `DNS label too long in ${name}`, { name });
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0, TYPE_CODE[type] >> 8, TYPE_CODE[type] & 0xff, 0, 1]));
  return Buffer.concat(parts);
}

function readName(buf: Buffer, off: number): { name: string; next: number } {
  const labels: string[] = [];
  let next = -1;
  for (let hops = 0; hops < 64; hops++) {
    const len = buf.readUInt8(off);
    if (len === 0) return { name: labels.join('.'), next: next === -1 ? off + 1 : next };
    if ((len & 0xc0) === 0xc0) {
      if (next === -1) next = off + 2;
      off = buf.readUInt16BE(off) & 0x3fff;
      continue;
    }
    labels.push(buf.toString('ascii', off + 1, off + 1 + len));
    off += 1 + len;
  }
  throw new Error('DNS name compression loop');
}

function charString(buf: Buffer, off: number): { s: string; next: number } {
  const len = buf.readUInt8(off);
  return { s: buf.toString('ascii', off + 1, off + 1 + len), next: off + 1 + len };
}

function decodeRecord<T extends RecordType>(type: T, buf: Buffer, off: number, len: number): RecordOf[T] {
  switch (type) {
    case 'A': return [...buf.subarray(off, off + 4)].join('.') as RecordOf[T];
    case 'AAAA': {
      const words: string[] = [];
      for (let i = 0; i < 16; i += 2) words.push(buf.readUInt16BE(off + i).toString(16));
      // The URL parser writes the canonical (RFC 5952, `::`-compressed) form.
      return new URL(`http://[${words.join(':')}]/`).hostname.slice(1, -1) as RecordOf[T];
    }
    case 'SRV': return { priority: buf.readUInt16BE(off), weight: buf.readUInt16BE(off + 2), port: buf.readUInt16BE(off + 4), name: readName(buf, off + 6).name } as RecordOf[T];
    default: {
      const flags = charString(buf, off + 4);
      const service = charString(buf, flags.next);
      const regexp = charString(buf, service.next);
      if (regexp.next > off + len) throw new Error('NAPTR record overruns its length');
      return { order: buf.readUInt16BE(off), preference: buf.readUInt16BE(off + 2), flags: flags.s, service: service.s, regexp: regexp.s, replacement: readName(buf, regexp.next).name } as RecordOf[T];
    }
  }
}

/** Parses an answer; throws on SERVFAIL, REFUSED and the like (another server may do better). */
export function decodeAnswer<T extends RecordType>(buf: Buffer, id: number, type: T, negativeTtl: number): DnsAnswer<RecordOf[T]> & { truncated: boolean } {
  if (buf.length < 12 || buf.readUInt16BE(0) !== id) throw new Error('not the answer to our query');
  const flags = buf.readUInt16BE(2);
  const rcode = flags & 0x0f;
  const truncated = (flags & 0x0200) !== 0;
  if (rcode !== 0 && rcode !== 3) throw new Error(`DNS rcode ${rcode}`);
  const [qd, an, ns] = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8)];
  let off = 12;
  for (let i = 0; i < qd; i++) off = readName(buf, off).next + 4;
  const records: RecordOf[T][] = [];
  let ttl = Infinity;
  let soaTtl = Infinity;
  for (let i = 0; i < an + ns && off < buf.length; i++) {
    off = readName(buf, off).next;
    const rtype = buf.readUInt16BE(off);
    const rttl = buf.readUInt32BE(off + 4);
    const len = buf.readUInt16BE(off + 8);
    off += 10;
    if (i < an && rtype === TYPE_CODE[type]) { records.push(decodeRecord(type, buf, off, len)); ttl = Math.min(ttl, rttl); }
    // RFC 2308 §5: a negative answer lives for min(SOA TTL, SOA MINIMUM).
    if (i >= an && rtype === SOA) soaTtl = Math.min(rttl, buf.readUInt32BE(off + len - 4));
    off += len;
  }
  if (records.length > 0) return { records, ttl, truncated };
  return { records, ttl: Number.isFinite(soaTtl) ? soaTtl : negativeTtl, truncated };
}

export interface WireQueryOptions { servers: readonly DnsServer[]; timeoutMs: number; negativeTtl: number }

/** One question, each server in turn (one retry round), until one answers. */
export async function query<T extends RecordType>(name: string, type: T, o: WireQueryOptions): Promise<DnsAnswer<RecordOf[T]>> {
  let last: unknown;
  for (let round = 0; round < 2; round++) {
    for (const server of o.servers) {
      const id = randomBytes(2).readUInt16BE(0);
      const q = encodeQuery(id, name, type);
      try {
        const a = decodeAnswer(await udp(q, server, o.timeoutMs), id, type, o.negativeTtl);
        if (!a.truncated) return { records: a.records, ttl: a.ttl };
        const t = decodeAnswer(await tcp(q, server, o.timeoutMs), id, type, o.negativeTtl);
        return { records: t.records, ttl: t.ttl };
      } catch (err) { last = err; }
    }
  }
  throw new SipDnsError('SIP_ERR_DNS_QUERY', `no DNS server answered ${type} ${name}`, { name, type, servers: o.servers.map((s) => `${s.address}:${s.port}`) }, { cause: last });
}

function udp(q: Buffer, server: DnsServer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = createSocket(isIP(server.address) === 6 ? 'udp6' : 'udp4');
    let over = false;
    const done = (err: Error | undefined, buf?: Buffer) => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      s.close();
      if (err) reject(err); else resolve(buf!);
    };
    const timer = setTimeout(() => done(new Error(`DNS timeout after ${timeoutMs} ms`)), timeoutMs);
    s.on('error', (e) => done(e));
    s.on('message', (m) => { if (m.length >= 2 && m.readUInt16BE(0) === q.readUInt16BE(0)) done(undefined, m); });
    s.send(q, server.port, server.address, (e) => { if (e) done(e); });
  });
}

function tcp(q: Buffer, server: DnsServer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = connect({ host: server.address, port: server.port });
    let got = Buffer.alloc(0);
    const done = (err: Error | undefined, buf?: Buffer) => { clearTimeout(timer); c.destroy(); if (err) reject(err); else resolve(buf!); };
    const timer = setTimeout(() => done(new Error(`DNS over TCP timeout after ${timeoutMs} ms`)), timeoutMs);
    c.on('error', (e) => done(e));
    c.on('connect', () => { const len = Buffer.alloc(2); len.writeUInt16BE(q.length); c.write(Buffer.concat([len, q])); });
    c.on('data', (d) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) done(undefined, got.subarray(2, 2 + got.readUInt16BE(0)));
    });
  });
}
