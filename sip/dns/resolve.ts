import { isIP } from 'node:net';
import { SipDnsError } from './errors.js';

export type SipTransportName = 'udp' | 'tcp' | 'tls';

export interface SipTarget { transport: SipTransportName; address: string; port: number; family: 4 | 6 }

/** The lookups RFC 3263 needs; node:dns/promises `Resolver` satisfies it. */
export interface DnsLookups {
  resolveNaptr(name: string): Promise<Array<{ flags: string; service: string; regexp: string; replacement: string; order: number; preference: number }>>;
  resolveSrv(name: string): Promise<Array<{ priority: number; weight: number; port: number; name: string }>>;
  resolve4(name: string): Promise<string[]>;
  resolve6(name: string): Promise<string[]>;
}

export interface SipDestination { host: string; port?: number; transport?: SipTransportName; secure?: boolean }

const NAPTR_SERVICE: Record<string, SipTransportName> = { 'SIP+D2U': 'udp', 'SIP+D2T': 'tcp', 'SIPS+D2T': 'tls' };
const SRV_PREFIX: Record<SipTransportName, string> = { udp: '_sip._udp.', tcp: '_sip._tcp.', tls: '_sips._tcp.' };
const defaultPort = (t: SipTransportName): number => (t === 'tls' ? 5061 : 5060);

/**
 * RFC 3263 §4: ordered list of targets for a SIP URI's host.
 * §4.1/§4.2: "If the TARGET was a numeric IP address, the client uses that address";
 * "If the TARGET was not a numeric IP address, but a port is present in the URI,
 * the client performs an A or AAAA record lookup". Otherwise NAPTR, then SRV, then A/AAAA.
 */
export async function resolveSipTargets(dest: SipDestination, dns: DnsLookups, random: () => number = Math.random): Promise<SipTarget[]> {
  const host = dest.host.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new SipDnsError('SIP_ERR_DNS_BAD_URI', 'empty host', { dest });
  const fam = isIP(host);
  if (fam !== 0) {
    const transport = dest.transport ?? (dest.secure ? 'tls' : 'udp');
    return [{ transport, address: host, port: dest.port ?? defaultPort(transport), family: fam as 4 | 6 }];
  }
  if (dest.port !== undefined) {
    const transport = dest.transport ?? (dest.secure ? 'tls' : 'udp');
    return need(await addresses(dns, host, transport, dest.port), dest);
  }
  // §4.1 NAPTR: only services we speak; sips URIs only over TLS.
  let srvNames: Array<{ name: string; transport: SipTransportName }> = [];
  const naptr = await soft(dns.resolveNaptr(host));
  const usable = naptr
    .filter((r) => r.flags.toLowerCase() === 's' && NAPTR_SERVICE[r.service.toUpperCase()] !== undefined)
    .map((r) => ({ ...r, transport: NAPTR_SERVICE[r.service.toUpperCase()]! }))
    .filter((r) => (dest.transport ? r.transport === dest.transport : true) && (dest.secure ? r.transport === 'tls' : true))
    .sort((a, b) => a.order - b.order || a.preference - b.preference);
  if (usable.length > 0) srvNames = usable.map((r) => ({ name: r.replacement, transport: r.transport }));
  else {
    // §4.1: "If no NAPTR records are found, the client constructs SRV queries for those transport protocols it supports".
    const ts: SipTransportName[] = dest.transport ? [dest.transport] : dest.secure ? ['tls'] : ['udp', 'tcp', 'tls'];
    srvNames = ts.map((t) => ({ name: SRV_PREFIX[t] + host, transport: t }));
  }
  const out: SipTarget[] = [];
  for (const s of srvNames) {
    const srv = await soft(dns.resolveSrv(s.name));
    for (const r of orderSrv(srv, random)) out.push(...(await addresses(dns, r.name, s.transport, r.port)));
    if (out.length > 0 && usable.length === 0) break; // first transport with SRV records wins when no NAPTR ordered them
  }
  if (out.length > 0) return out;
  // §4.2: "If no SRV records were found, the client performs an A or AAAA record lookup of the domain name."
  const transport = dest.transport ?? (dest.secure ? 'tls' : 'udp');
  return need(await addresses(dns, host, transport, defaultPort(transport)), dest);
}

/** RFC 2782: lowest priority first; within a priority, weighted random order. */
export function orderSrv<T extends { priority: number; weight: number }>(records: readonly T[], random: () => number = Math.random): T[] {
  const byPrio = new Map<number, T[]>();
  for (const r of records) (byPrio.get(r.priority) ?? byPrio.set(r.priority, []).get(r.priority)!).push(r);
  const out: T[] = [];
  for (const prio of [...byPrio.keys()].sort((a, b) => a - b)) {
    // Zero-weight records first in the list so they have a small chance, as RFC 2782 describes.
    const rest = [...byPrio.get(prio)!].sort((a, b) => a.weight - b.weight);
    while (rest.length > 0) {
      const total = rest.reduce((s, r) => s + r.weight, 0);
      const pick = random() * (total + 1e-9);
      let acc = 0;
      let idx = rest.length - 1;
      if (total > 0) for (let i = 0; i < rest.length; i++) { acc += rest[i]!.weight; if (acc >= pick && rest[i]!.weight > 0) { idx = i; break; } }
      else idx = 0;
      out.push(rest.splice(idx, 1)[0]!);
    }
  }
  return out;
}

async function addresses(dns: DnsLookups, name: string, transport: SipTransportName, port: number): Promise<SipTarget[]> {
  const [v4, v6] = await Promise.all([soft(dns.resolve4(name)), soft(dns.resolve6(name))]);
  return [...v4.map((a) => ({ transport, address: a, port, family: 4 as const })), ...v6.map((a) => ({ transport, address: a, port, family: 6 as const }))];
}

async function soft<T>(p: Promise<T[]>): Promise<T[]> {
  try { return await p; } catch { return []; } // NXDOMAIN/NODATA simply means "no records of this type"
}

function need(t: SipTarget[], dest: SipDestination): SipTarget[] {
  if (t.length === 0) throw new SipDnsError('SIP_ERR_DNS_NO_TARGETS', `no SIP targets for ${dest.host}`, { dest });
  return t;
}

/**
 * RFC 3263 §4.3: try targets in order; move to the next on a transport
 * failure/timeout (a thrown error) or when `failover(result)` says so
 * (a 503 response: "the client SHOULD try the next element").
 */
export async function withFailover<R>(targets: readonly SipTarget[], attempt: (t: SipTarget) => Promise<R>, failover: (r: R) => boolean): Promise<{ result: R; target: SipTarget; tried: number }> {
  let last: unknown;
  for (let i = 0; i < targets.length; i++) {
    try {
      const result = await attempt(targets[i]!);
      if (!failover(result) || i === targets.length - 1) return { result, target: targets[i]!, tried: i + 1 };
      last = result;
    } catch (e) { last = e; }
  }
  throw new SipDnsError('SIP_ERR_ALL_TARGETS_FAILED', `all ${targets.length} SIP targets failed`, { targets: targets.length }, { cause: last });
}
