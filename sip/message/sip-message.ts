import { canonicalHeaderName, MULTI_VALUE, splitCommaValues } from './headers.js';
import { SipParseError } from '../errors.js';
import { WORD_CHARS } from './grammar.js';
import { NameAddr, Via, parseCSeq, type CSeq } from './header-values.js';

const EMPTY = Buffer.alloc(0);

/**
 * A copy of `bytes` in memory of its own. Small Buffers made by Buffer.from
 * are slices of a shared 8 KB pool slab, and one long-lived slice keeps the
 * whole slab alive: a message kept by a transaction for 64·T1 pinned ~8 KB
 * per body (about 16 KB a call, 168 MB after 10,000 calls).
 */
export function ownedBytes(bytes: Buffer | string): Buffer {
  const n = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.length;
  if (n === 0) return EMPTY;
  const out = Buffer.allocUnsafeSlow(n);
  if (typeof bytes === 'string') out.write(bytes, 'utf8');
  else bytes.copy(out);
  return out;
}

/**
 * A SIP message. The headers a transaction or dialog needs on every message
 * (Via, From, To, Call-ID, CSeq, Contact, Route, Record-Route, Max-Forwards,
 * Content-Length, Content-Type) are parsed when the message is; every other
 * header is kept as raw text and read on demand with `header()`.
 */
export abstract class SipMessage {
  /** Lower-case long header name → raw values, one per value (comma-joined lines split for multi-value headers). */
  readonly headers = new Map<string, string[]>();
  /** Header order as received, for faithful serialization. */
  readonly order: string[] = [];
  body: Buffer = EMPTY;

  via: Via[] = [];
  from!: NameAddr;
  to!: NameAddr;
  callId = '';
  cseq!: CSeq;
  contact: NameAddr[] = [];
  route: NameAddr[] = [];
  recordRoute: NameAddr[] = [];
  maxForwards: number | undefined;
  contentType: string | undefined;

  /** First value of a header (any case, compact or long name), raw. */
  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase())?.[0];
  }

  headerValues(name: string): readonly string[] {
    return this.headers.get(name.toLowerCase()) ?? [];
  }

  /** Sets a header to these values, replacing what was there (the parsed fields are refreshed). */
  setHeader(name: string, ...values: string[]): this {
    const key = name.toLowerCase();
    if (!this.headers.has(key)) this.order.push(key);
    this.headers.set(key, values);
    this.refresh(key);
    return this;
  }

  addHeader(name: string, value: string, first = false): this {
    const key = name.toLowerCase();
    const list = this.headers.get(key);
    if (!list) {
      this.order.push(key);
      this.headers.set(key, [value]);
    } else if (first) list.unshift(value);
    else list.push(value);
    this.refresh(key);
    return this;
  }

  removeHeader(name: string): this {
    const key = name.toLowerCase();
    this.headers.delete(key);
    const i = this.order.indexOf(key);
    if (i >= 0) this.order.splice(i, 1);
    this.refresh(key);
    return this;
  }

  setBody(body: string | Buffer, contentType?: string): this {
    this.body = ownedBytes(body);
    if (contentType) this.setHeader('content-type', contentType);
    return this;
  }

  /** Re-derives the eagerly parsed field of a header from its raw values. */
  refresh(key: string): void {
    const v = this.headers.get(key) ?? [];
    switch (key) {
      case 'via': this.via = v.map((x) => Via.parse(x)); break;
      case 'from': if (v[0] !== undefined) this.from = NameAddr.parse(v[0], 'From'); break;
      case 'to': if (v[0] !== undefined) this.to = NameAddr.parse(v[0], 'To'); break;
      case 'call-id': this.callId = readCallId(v[0]); break;
      case 'cseq': if (v[0] !== undefined) this.cseq = parseCSeq(v[0]); break;
      case 'contact': this.contact = v.map((x) => NameAddr.parse(x, 'Contact')); break;
      case 'route': this.route = v.map((x) => NameAddr.parse(x, 'Route')); break;
      case 'record-route': this.recordRoute = v.map((x) => NameAddr.parse(x, 'Record-Route')); break;
      case 'max-forwards': this.maxForwards = readMaxForwards(v[0]); break;
      case 'content-type': this.contentType = v[0]?.trim(); break;
      default: break;
    }
  }

  protected abstract startLine(): string;

  /**
   * Wire form. Structured headers are written from their parsed form (a
   * transport may have added `received`/`rport` to the top Via); the rest as
   * received. Content-Length always matches the body.
   */
  toBuffer(): Buffer {
    const lines: string[] = [this.startLine()];
    const write = (key: string, values: readonly string[]) => {
      const name = canonicalHeaderName(key);
      for (const v of values) lines.push(`${name}: ${v}`);
    };
    for (const key of this.order) {
      if (key === 'content-length') continue;
      switch (key) {
        case 'via': write(key, this.via.map(String)); break;
        case 'from': write(key, [String(this.from)]); break;
        case 'to': write(key, [String(this.to)]); break;
        case 'contact': write(key, this.contact.map(String)); break;
        case 'route': write(key, this.route.map(String)); break;
        case 'record-route': write(key, this.recordRoute.map(String)); break;
        default: write(key, this.headers.get(key) ?? []);
      }
    }
    lines.push(`Content-Length: ${this.body.length}`);
    const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
    return this.body.length ? Buffer.concat([head, this.body]) : head;
  }

  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}

export class SipRequest extends SipMessage {
  constructor(public method: string, public uri: string) {
    super();
  }

  protected startLine(): string {
    return `${this.method} ${this.uri} SIP/2.0`;
  }
}

export class SipResponse extends SipMessage {
  constructor(public status: number, public reason: string) {
    super();
  }

  protected startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }
}

/** §20.8 callid = word ["@" word]: nothing else may be echoed back in a response. */
function readCallId(value: string | undefined): string {
  const id = (value ?? '').trim();
  if (id !== '' && !WORD_CHARS.test(id)) throw new SipParseError('bad Call-ID', { kind: 'bad-header' });
  return id;
}

/** §20.22: 1*DIGIT, at most 255 (RFC 4475 §3.1.2.4 scalar02: 300 is an error). `seventy` is no number. */
function readMaxForwards(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  const n = /^\d{1,10}$/.test(v) ? Number(v) : NaN;
  if (!(n <= 255)) throw new SipParseError(`bad Max-Forwards '${v.slice(0, 20).replace(/[^\x20-\x7e]/g, '?')}'`, { kind: 'max-forwards' });
  return n;
}

/** Whether a header keeps several values, one per entry. */
export function isMultiValue(key: string): boolean {
  return MULTI_VALUE.has(key);
}

export { splitCommaValues };
