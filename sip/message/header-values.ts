import { SipParseError } from '../errors.js';
import { formatParams, parseParams } from './headers.js';

/**
 * Via (RFC 3261 §20.42, §18.2.1): `SIP/2.0/UDP host:port;branch=z9hG4bK…;rport`.
 * `received` and `rport` are set by the receiving transport (RFC 3581).
 */
export class Via {
  constructor(
    public transport: string,
    public host: string,
    public port: number | undefined,
    public readonly params: Map<string, string>,
  ) {}

  static parse(text: string): Via {
    const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[^\]]+\]|[^\s;:]+)(?:\s*:\s*(\d+))?\s*(.*)$/.exec(text.trim());
    if (!m) throw new SipParseError(`bad Via '${text.slice(0, 80)}'`);
    const port = m[3] === undefined ? undefined : Number(m[3]);
    if (port !== undefined && (port < 1 || port > 65535)) throw new SipParseError(`bad Via port ${m[3]}`);
    return new Via(m[1]!.toUpperCase(), m[2]!, port, parseParams(m[4] ?? ''));
  }

  get branch(): string | undefined {
    return this.params.get('branch');
  }

  toString(): string {
    return `SIP/2.0/${this.transport} ${this.host}${this.port === undefined ? '' : `:${this.port}`}${formatParams(this.params)}`;
  }
}

/**
 * name-addr / addr-spec with parameters (From, To, Contact, Route, Record-Route):
 * `"Alice" <sip:alice@host;transport=tcp>;tag=abc` or `sip:alice@host;tag=abc`.
 * Without <…>, parameters after the URI belong to the header (§20.10).
 */
export class NameAddr {
  constructor(
    public displayName: string | undefined,
    public uri: string,
    public readonly params: Map<string, string>,
    public readonly bracketed: boolean,
  ) {}

  static parse(text: string): NameAddr {
    const t = text.trim();
    if (t === '*') return new NameAddr(undefined, '*', new Map(), false);
    const lt = t.indexOf('<');
    if (lt >= 0) {
      const gt = t.indexOf('>', lt);
      if (gt < 0) throw new SipParseError(`unclosed < in '${t.slice(0, 80)}'`);
      const name = t.slice(0, lt).trim().replace(/^"(.*)"$/, '$1');
      return new NameAddr(name || undefined, t.slice(lt + 1, gt).trim(), parseParams(t.slice(gt + 1)), true);
    }
    const semi = t.indexOf(';');
    const uri = semi < 0 ? t : t.slice(0, semi);
    if (!/^(sips?|tel|urn):/i.test(uri)) throw new SipParseError(`bad address '${t.slice(0, 80)}'`);
    return new NameAddr(undefined, uri, parseParams(semi < 0 ? '' : t.slice(semi)), false);
  }

  get tag(): string | undefined {
    return this.params.get('tag');
  }

  toString(): string {
    if (this.uri === '*') return '*';
    const name = this.displayName ? `"${this.displayName}" ` : '';
    return `${name}<${this.uri}>${formatParams(this.params)}`;
  }
}

export interface CSeq {
  seq: number;
  method: string;
}

export function parseCSeq(text: string): CSeq {
  const m = /^\s*(\d{1,10})\s+([A-Za-z]+)\s*$/.exec(text);
  if (!m) throw new SipParseError(`bad CSeq '${text.slice(0, 80)}'`);
  const seq = Number(m[1]);
  if (seq >= 2 ** 31) throw new SipParseError(`CSeq ${seq} is over 2^31 (RFC 3261 §8.1.1.5)`);
  return { seq, method: m[2]!.toUpperCase() };
}

/** The host and port of a SIP URI: `sip:user@host:port;params` → {host, port}. */
export function uriHostPort(uri: string): { user: string | undefined; host: string; port: number | undefined; params: Map<string, string> } {
  const m = /^sips?:(?:([^@;]+)@)?(\[[^\]]+\]|[^:;?>]+)(?::(\d+))?([^?]*)/i.exec(uri);
  if (!m) throw new SipParseError(`bad SIP URI '${uri.slice(0, 80)}'`);
  return { user: m[1], host: m[2]!, port: m[3] === undefined ? undefined : Number(m[3]), params: parseParams(m[4] ?? '') };
}
