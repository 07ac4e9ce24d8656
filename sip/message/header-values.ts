import { SipParseError } from '../errors.js';
import { isTokenChar, isUri, parseParams, quotedEnd, stripControls } from './grammar.js';
import { formatParams } from './headers.js';

const VIA = /^([A-Za-z0-9.!%*_+`'~-]+)[ \t]*\/[ \t]*([A-Za-z0-9.!%*_+`'~-]+)[ \t]*\/[ \t]*([A-Za-z0-9.!%*_+`'~-]+)[ \t]+(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9.])?)(?:[ \t]*:[ \t]*(\d{1,5}))?[ \t]*(;.*)?$/;

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
    /** sent-protocol's name and version: `SIP/2.0` on every Via we accept a request on (another one gets 505). */
    public readonly protocol = 'SIP/2.0',
  ) {}

  /** §20.42 via-parm; LWS around '/', ':' and ';' is allowed (RFC 4475 §3.1.1.1), empty parameters are not (§3.1.2.1). */
  static parse(text: string): Via {
    const m = VIA.exec(text.trim());
    if (!m) throw new SipParseError(`bad Via '${stripControls(text.slice(0, 80))}'`);
    const port = m[5] === undefined ? undefined : Number(m[5]);
    if (port !== undefined && (port < 1 || port > 65535)) throw new SipParseError(`bad Via port ${m[5]}`);
    const protocol = `${m[1]!.toUpperCase()}/${m[2]!}`;
    return new Via(m[3]!.toUpperCase(), m[4]!, port, m[6] ? parseParams(m[6], 'Via') : new Map(), protocol);
  }

  get branch(): string | undefined {
    return this.params.get('branch');
  }

  toString(): string {
    return `${this.protocol}/${this.transport} ${this.host}${this.port === undefined ? '' : `:${this.port}`}${formatParams(this.params)}`;
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

  /**
   * §25.1 name-addr / addr-spec with header parameters. The display name is
   * a quoted string (closed, RFC 4475 §3.1.2.6) or tokens (a comma needs
   * quotes, §3.1.2.16); inside <…> the URI has no surrounding spaces
   * (§3.1.2.15); a bare addr-spec cannot hold ',', '?' or ';' (§20: those
   * need <…>, RFC 4475 §3.3.13). Any URI scheme parses (§3.3.4): what to do
   * with a tel: or http: address is the UA's question.
   */
  static parse(text: string, header = 'address'): NameAddr {
    const t = text.trim();
    if (t === '*') return new NameAddr(undefined, '*', new Map(), false);
    let display: string | undefined;
    let lt: number;
    if (t.charCodeAt(0) === 0x22) {
      const q = quotedEnd(t, 0, header);
      display = t.slice(1, q);
      lt = q + 1;
      while (t.charCodeAt(lt) === 0x20 || t.charCodeAt(lt) === 0x09) lt++;
      if (t.charCodeAt(lt) !== 0x3c) throw new SipParseError(`no <URI> after the display name in ${header}`);
    } else {
      lt = t.indexOf('<');
      if (lt > 0) {
        const name = t.slice(0, lt).trim();
        if (!isTokenList(name)) throw new SipParseError(`bad display name in ${header}`);
        display = name || undefined;
      }
    }
    if (lt >= 0) {
      const gt = t.indexOf('>', lt);
      if (gt < 0) throw new SipParseError(`unclosed < in ${header}`);
      const uri = t.slice(lt + 1, gt);
      if (!isUri(uri)) throw new SipParseError(`bad URI in ${header}`);
      return new NameAddr(display || undefined, uri, parseParams(t.slice(gt + 1), header), true);
    }
    const semi = t.indexOf(';');
    const uri = semi < 0 ? t : t.slice(0, semi).trimEnd();
    if (!isUri(uri) || uri.includes(',') || uri.includes('?')) throw new SipParseError(`bad address in ${header}`);
    return new NameAddr(undefined, uri, semi < 0 ? new Map() : parseParams(t.slice(semi), header), false);
  }

  get tag(): string | undefined {
    return this.params.get('tag');
  }

  toString(): string {
    if (this.uri === '*') return '*';
    // A quoted-pair may carry a control character in (RFC 4475 §3.1.1.2); none goes back out.
    const name = this.displayName ? `"${stripControls(this.displayName)}" ` : '';
    return `${name}<${this.uri}>${formatParams(this.params)}`;
  }
}

export interface CSeq {
  seq: number;
  method: string;
}

/** §20.16: 1*DIGIT LWS Method; the sequence number under 2^31 (§8.1.1.5), the method a case-sensitive token. */
export function parseCSeq(text: string): CSeq {
  const m = /^\s*(\d{1,10})\s+([A-Za-z0-9.!%*_+`'~-]+)\s*$/.exec(text);
  if (!m) throw new SipParseError(`bad CSeq '${stripControls(text.slice(0, 80))}'`, { kind: 'cseq' });
  const seq = Number(m[1]);
  if (seq >= 2 ** 31) throw new SipParseError(`CSeq ${seq} is over 2^31 (RFC 3261 §8.1.1.5)`, { kind: 'cseq' });
  return { seq, method: m[2]! };
}

/** A display name without quotes: tokens separated by LWS (§25.1), or nothing. */
function isTokenList(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (!isTokenChar(c) && c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/** The host and port of a SIP URI: `sip:user@host:port;params` → {host, port}. */
export function uriHostPort(uri: string): { user: string | undefined; host: string; port: number | undefined; params: Map<string, string> } {
  const m = /^sips?:(?:([^@;]+)@)?(\[[^\]]+\]|[^:;?>]+)(?::(\d+))?([^?]*)/i.exec(uri);
  if (!m) throw new SipParseError(`bad SIP URI '${uri.slice(0, 80)}'`);
  return { user: m[1], host: m[2]!, port: m[3] === undefined ? undefined : Number(m[3]), params: parseParams(m[4] ?? '', 'URI') };
}
