import { SipLimitError, SipParseError } from '../errors.js';
import { checkControls, isRequestUri, TOKEN } from './grammar.js';
import { canonicalHeaderName, normalizeHeaderName, splitCommaValues, MULTI_VALUE } from './headers.js';
import { ownedBytes, SipRequest, SipResponse, type SipMessage } from './sip-message.js';

export interface ParseLimits {
  /** Whole message, bytes. Default 65,535 (a UDP datagram's most). */
  maxMessageBytes: number;
  /** Header lines. Default 100. */
  maxHeaders: number;
  /** One header line, bytes (after unfolding). Default 8,192. */
  maxLineBytes: number;
}

export const DEFAULT_LIMITS: ParseLimits = { maxMessageBytes: 65_535, maxHeaders: 100, maxLineBytes: 8_192 };

const REQUIRED = ['via', 'from', 'to', 'call-id', 'cseq'] as const;
/** §7.3.1 / RFC 4475 §3.3.8–9: headers that may appear once; a second copy makes the message ambiguous. */
const SINGLE = new Set(['content-length', 'call-id', 'cseq', 'from', 'to', 'max-forwards']);
/** Comma lists parsed eagerly, where an empty element (`;;,;,,`, RFC 4475 §3.1.2.1) is an error. */
const STRICT_LIST = new Set(['via', 'contact', 'route', 'record-route']);
/** Any control character but HTAB, or a CR not followed by LF: the rare case that needs the slow check. */
const MAYBE_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)/;
const REQUEST_LINE = /^([A-Za-z0-9.!%*_+`'~-]+) (\S+) SIP\/(\d+\.\d+)$/;
const STATUS_LINE = /^SIP\/(\d+\.\d+) ([1-6]\d\d) (.*)$/;

/** Where the header block ends: the first CRLFCRLF (or bare LFLF, which real carriers send). */
export function headerEnd(buf: Buffer, from = 0): { at: number; length: number } | undefined {
  for (let i = from; i + 1 < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return { at: i, length: 2 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { at: i, length: 3 };
  }
  return undefined;
}

/**
 * Parses one whole message (a UDP datagram, or a frame cut by the stream
 * transports) per RFC 3261 §7 and §25, refusing what RFC 4475 §3.1.2 lists
 * as invalid. Throws SipParseError (with `respondable` when a response can
 * be built, and a `kind`) or SipLimitError; never anything else for any input.
 * The header block is read as UTF-8 (§7.3.1 TEXT-UTF8), so that a display
 * name or reason phrase in another script goes back out unchanged.
 */
export function parseMessage(buf: Buffer, limits: ParseLimits = DEFAULT_LIMITS): SipMessage {
  if (buf.length > limits.maxMessageBytes) throw new SipLimitError('size', buf.length, limits.maxMessageBytes);
  // RFC 3261 §7.5: leading CRLFs before the start line are ignored (they are keepalives on streams).
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  const end = headerEnd(buf, start);
  if (!end) throw new SipParseError('no end of headers (CRLF CRLF)', { kind: 'no-header-end' });
  const head = buf.toString('utf8', start, end.at + 1);
  const rawLines = head.split(/\r?\n/);
  if (rawLines[rawLines.length - 1] === '') rawLines.pop();
  // Control characters are legal only as quoted-pairs inside a quoted string; CR and LF never inside a line.
  if (MAYBE_CONTROL.test(head)) for (const line of rawLines) checkControls(line);

  // Unfold continuation lines (§7.3.1: a line starting with whitespace continues the previous one).
  const lines: string[] = [];
  for (const line of rawLines) {
    const c = line.charCodeAt(0);
    if ((c === 0x20 || c === 0x09) && lines.length > 1) lines[lines.length - 1] += ` ${line.trim()}`;
    else lines.push(line);
    if (lines[lines.length - 1]!.length > limits.maxLineBytes) throw new SipLimitError('line length', lines[lines.length - 1]!.length, limits.maxLineBytes);
  }
  if (lines.length - 1 > limits.maxHeaders) throw new SipLimitError('header count', lines.length - 1, limits.maxHeaders);

  const msg = startLine(lines[0] ?? '');
  try {
    readHeaders(msg, lines);
    for (const key of msg.order) msg.refresh(key);
  } catch (err) {
    if (!(err instanceof SipParseError)) throw err;
    throw err.withRespondable(canBuildResponse(msg));
  }
  const missing = REQUIRED.filter((k) => !msg.headers.has(k));
  if (missing.length) throw new SipParseError(`missing ${missing.join(', ')}`, { respondable: false, kind: 'missing-header' });
  if (msg instanceof SipRequest && msg.cseq.method !== msg.method && !(msg.method === 'ACK' && msg.cseq.method === 'INVITE')) {
    // RFC 4475 §3.1.2.17–18: methods are case-sensitive and must agree.
    throw new SipParseError('CSeq method does not match the request method', { respondable: true, kind: 'cseq' });
  }

  const bodyStart = end.at + end.length;
  const available = buf.length - bodyStart;
  const cl = msg.header('content-length');
  let length = available;
  if (cl !== undefined) {
    const v = cl.trim();
    // RFC 4475 §3.1.2.3: a negative (or any non-numeric) Content-Length is an error.
    if (!/^\d{1,10}$/.test(v)) throw new SipParseError('bad Content-Length', { respondable: true, kind: 'content-length' });
    length = Number(v);
    // §18.3: over a datagram a Content-Length larger than what arrived is an error; a smaller one truncates.
    if (length > available) throw new SipParseError(`Content-Length ${length} but ${available} body bytes arrived`, { respondable: true, kind: 'content-length' });
  }
  msg.body = ownedBytes(buf.subarray(bodyStart, bodyStart + length));
  return msg;
}

function readHeaders(msg: SipMessage, lines: readonly string[]): void {
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError('header line without a name', { kind: 'bad-header' });
    const name = line.slice(0, colon).trim();
    if (!TOKEN.test(name)) throw new SipParseError('bad header name', { kind: 'bad-header' });
    const key = normalizeHeaderName(name);
    const value = trimLws(line, colon + 1);
    const list = msg.headers.get(key);
    if (list && SINGLE.has(key)) throw new SipParseError(`more than one ${canonicalHeaderName(key)}`, { kind: 'duplicate-header' });
    let values: string[];
    if (STRICT_LIST.has(key)) {
      values = splitCommaValues(value, false);
      if (values.some((v) => v === '')) throw new SipParseError(`empty element in ${canonicalHeaderName(key)}`, { kind: 'bad-header' });
    } else {
      values = MULTI_VALUE.has(key) ? splitCommaValues(value) : [value];
    }
    if (list) list.push(...values);
    else {
      msg.headers.set(key, values);
      msg.order.push(key);
    }
  }
}

/** §7.1 Request-Line (single SP, token method, no LWS in the URI: RFC 4475 §3.1.2.7–10) or §7.2 Status-Line. */
function startLine(line: string): SipMessage {
  if (line.startsWith('SIP/')) {
    const m = STATUS_LINE.exec(line) ?? /^SIP\/(\d+\.\d+) ([1-6]\d\d)$/.exec(line);
    if (!m) throw new SipParseError('bad status line', { kind: 'start-line' });
    if (m[1] !== '2.0') throw new SipParseError(`SIP/${m[1]}`, { kind: 'version' });
    return new SipResponse(Number(m[2]), m[3] ?? '');
  }
  const m = REQUEST_LINE.exec(line);
  if (!m) throw new SipParseError('bad request line', { kind: 'start-line' });
  // §8.2.2 / RFC 4475 §3.1.2.16: another version is answered 505.
  if (m[3] !== '2.0') throw new SipParseError(`SIP/${m[3]} not supported`, { kind: 'version', status: 505 });
  if (!isRequestUri(m[2]!)) throw new SipParseError('bad Request-URI', { kind: 'request-uri' });
  return new SipRequest(m[1]!, m[2]!);
}

/** `line` from `from` without leading and trailing SP/HTAB: String.trim would also eat a BOM that belongs to the value (RFC 4475 §3.1.1.2). */
function trimLws(line: string, from: number): string {
  let a = from;
  let b = line.length;
  while (a < b && (line.charCodeAt(a) === 0x20 || line.charCodeAt(a) === 0x09)) a++;
  while (b > a && (line.charCodeAt(b - 1) === 0x20 || line.charCodeAt(b - 1) === 0x09)) b--;
  return line.slice(a, b);
}

function hasRequired(msg: SipMessage): boolean {
  return REQUIRED.every((k) => msg.headers.has(k));
}

/** A 400 needs the Via to route it and the dialog identifiers to copy. */
function canBuildResponse(msg: SipMessage): boolean {
  if (!(msg instanceof SipRequest) || !hasRequired(msg)) return false;
  try {
    for (const k of ['via', 'from', 'to', 'call-id', 'cseq']) msg.refresh(k);
    return msg.via.length > 0;
  } catch {
    return false;
  }
}

/** A start line good enough to answer: a token method, then anything, then a SIP version. */
const LOOSE_REQUEST_LINE = /^([A-Za-z0-9.!%*_+`'~-]+)[ \t]+.*?[ \t]*SIP\/\d+\.\d+[ \t]*$/;

/**
 * A best-effort copy of a request's identifying headers, for a 400 (or 505)
 * to a message that failed to parse. Each header must itself be valid, since
 * it is copied into the response: a malformed From or To is never echoed
 * (RFC 4475 §3.1.2.6), the message is dropped instead. The first copy of a
 * duplicated header is the one kept.
 */
export function salvageRequest(buf: Buffer): SipRequest | undefined {
  try {
    const head = buf.subarray(0, Math.min(buf.length, DEFAULT_LIMITS.maxMessageBytes)).toString('utf8');
    const lines = head.split(/\r?\n/);
    const m = LOOSE_REQUEST_LINE.exec(lines[0] ?? '');
    if (!m) return undefined;
    const req = new SipRequest(m[1]!, '*');
    for (const line of lines.slice(1, 101)) {
      if (line === '') break;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const key = normalizeHeaderName(line.slice(0, colon));
      if (!(REQUIRED as readonly string[]).includes(key) || (key !== 'via' && req.headers.has(key))) continue;
      const value = line.slice(colon + 1).trim();
      try {
        checkControls(value);
        // RFC 4475 §3.1.2.1: a Via with empty parameters still says where the 400 goes.
        if (key === 'via') {
          for (const v of splitCommaValues(value)) {
            const clean = v.replace(/;[\s;]*(?=;|$)/g, '');
            if (clean) req.addHeader(key, clean);
          }
        } else {
          req.addHeader(key, value);
        }
      } catch {
        req.removeHeader(key);
      }
    }
    return hasRequired(req) && req.via.length > 0 ? req : undefined;
  } catch {
    return undefined;
  }
}
