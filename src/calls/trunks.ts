import { isUri, uriHostPort } from '../../sip/index.js';
import type { DigestCredentials } from '../../sip/digest/index.js';
import type { SipDestination } from '../../sip/dns/index.js';
import type { CarrierAccount } from '../../sip/registration/index.js';
import type { TlsTarget } from '../../sip/transport/transport.js';
import { isIP } from 'node:net';
import { ConfigInvalidError, type OutboundConfig } from '../config/index.js';
import { DialInvalidError } from './errors.js';

/** One outbound trunk: a configured registration's identity and credentials, and its caps. */
export interface Trunk {
  id: string;
  user: string;
  domain: string;
  credentials: DigestCredentials | undefined;
  /** Where INVITEs go (RFC 3263 applies to a name without a port). */
  proxy: SipDestination;
  maxConcurrent: number;
  callsPerSecond: number;
  /**
   * For a target RFC 3263 gives as TLS: the registration's CA, client certificate and the name the
   * carrier's certificate must carry (its `tls.serverName`, else the proxy's host name, never the
   * address it resolved to: RFC 5922 §4.1, as the registration itself verifies).
   */
  tls: TlsTarget | undefined;
}

/**
 * The trunks of `outbound.trunks`, each joined to its `registrations` entry. Every replica has the
 * same configuration, so every replica can place calls on every trunk with its credentials: the
 * registration lease only decides who refreshes the REGISTER, and an INVITE's digest challenge is
 * answered per request, independent of which replica holds the binding.
 */
export function buildTrunks(outbound: OutboundConfig, registrations: readonly CarrierAccount[]): Map<string, Trunk> {
  const out = new Map<string, Trunk>();
  outbound.trunks.forEach((t, i) => {
    const reg = registrations.find((r) => r.id === t.id);
    if (!reg) {
      throw new ConfigInvalidError({ issues: [{ key: `outbound.trunks.${i}.id`, value: t.id, expected: `the id of a registrations entry (${registrations.map((r) => r.id).join(', ') || 'none configured'})`, source: 'configuration' }] });
    }
    const proxy = t.proxy ?? reg.registrar;
    const host = proxy.host.replace(/^\[(.*)\]$/, '$1');
    const serverName = reg.tls?.serverName ?? (isIP(host) === 0 ? host : undefined);
    out.set(t.id, {
      id: t.id,
      user: reg.user,
      domain: reg.domain,
      credentials: reg.password !== undefined ? { username: reg.username ?? reg.user, password: reg.password, ...(reg.realm && { realm: reg.realm }) } : undefined,
      proxy,
      maxConcurrent: t.maxConcurrent,
      callsPerSecond: t.callsPerSecond,
      tls: reg.tls || serverName !== undefined ? { ...reg.tls, ...(serverName !== undefined && { serverName }) } : undefined,
    });
  });
  return out;
}

const E164 = /^\+?[1-9][0-9]{1,14}$/;

/**
 * A party of a dial request as a SIP URI: an E.164 number (separators allowed) becomes
 * `sip:+NUMBER@<trunk domain>`; a sip:/sips: URI is taken as is, once it is checked to carry no
 * header part, no angle brackets and no line breaks (it goes into the INVITE verbatim).
 */
export function partyUri(field: 'to' | 'from', value: unknown, domain: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new DialInvalidError({ field, value, expected: 'an E.164 number (+15551234567) or a sip: URI, at most 256 characters' });
  }
  const compact = value.replace(/[\s().-]/g, '');
  if (E164.test(compact)) return `sip:${compact.startsWith('+') ? compact : `+${compact}`}@${domain}`;
  if (/^sips?:/i.test(value) && isUri(value) && !/[<>?\s"]/.test(value)) {
    try {
      const hp = uriHostPort(value);
      if (hp.host) return value;
    } catch { /* falls through to the error below */ }
  }
  throw new DialInvalidError({ field, value, expected: 'an E.164 number (+15551234567) or a sip: URI (sip:user@host)' });
}

/** Headers a dial request may add besides X-…: caller identity and privacy, which carriers read. */
const ALLOWED_HEADERS = new Set(['p-asserted-identity', 'p-preferred-identity', 'privacy', 'diversion', 'user-to-user']);

/** The API's `headers`: only X-… and the allowlist; names are tokens, values one line of printable text. */
export function extraHeaders(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DialInvalidError({ field: 'headers', value, expected: 'an object of header name → string value' });
  const out: Record<string, string> = {};
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 16) throw new DialInvalidError({ field: 'headers', value: `${entries.length} headers`, expected: 'at most 16 headers' });
  for (const [name, v] of entries) {
    const lower = name.toLowerCase();
    if (!/^[A-Za-z0-9-]{1,64}$/.test(name) || !(lower.startsWith('x-') || ALLOWED_HEADERS.has(lower))) {
      throw new DialInvalidError({ field: `headers.${name}`, value: name, expected: `a header named X-… or one of ${[...ALLOWED_HEADERS].join(', ')}` });
    }
    if (typeof v !== 'string' || v.length > 512 || !/^[\x20-\x7e\u00a0-\uffff]*$/.test(v)) {
      throw new DialInvalidError({ field: `headers.${name}`, value: v, expected: 'a string of printable characters on one line, at most 512' });
    }
    out[lower] = v;
  }
  return out;
}
