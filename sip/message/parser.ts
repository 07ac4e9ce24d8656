import { SipLimitError, SipParseError } from '../errors.js';
import { normalizeHeaderName, splitCommaValues, MULTI_VALUE } from './headers.js';
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

const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;
const REQUIRED = ['via', 'from', 'to', 'call-id', 'cseq'] as const;

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
 * transports). Throws SipParseError (with `respondable` when a 400 can be
 * built) or SipLimitError; never anything else for any input.
 */
export function parseMessage(buf: Buffer, limits: ParseLimits = DEFAULT_LIMITS): SipMessage {
  if (buf.length > limits.maxMessageBytes) throw new SipLimitError('size', buf.length, limits.maxMessageBytes);
  // RFC 3261 §7.5: leading CRLFs before the start line are ignored (they are keepalives on streams).
  let start = 0;
  while (start < buf.length && (buf[start] === 0x0d || buf[start] === 0x0a)) start++;
  const end = headerEnd(buf, start);
  if (!end) throw new SipParseError('no end of headers (CRLF CRLF)');
  const head = buf.subarray(start, end.at + 1).toString('latin1');
  if (/[\x00-\x08\x0e-\x1f\x7f]/.test(head)) throw new SipParseError('control characters in the header block');
  const rawLines = head.split(/\r?\n/);
  if (rawLines[rawLines.length - 1] === '') rawLines.pop();

  // Unfold continuation lines (§7.3.1: a line starting with whitespace continues the previous one).
  const lines: string[] = [];
  for (const line of rawLines) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && lines.length > 1) lines[lines.length - 1] += ` ${line.trim()}`;
    else lines.push(line);
    if (lines[lines.length - 1]!.length > limits.maxLineBytes) throw new SipLimitError('line length', lines[lines.length - 1]!.length, limits.maxLineBytes);
  }
  if (lines.length - 1 > limits.maxHeaders) throw new SipLimitError('header count', lines.length - 1, limits.maxHeaders);

  const msg = startLine(lines[0] ?? '');
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SipParseError(`header line without a name: '${line.slice(0, 60)}'`, { respondable: hasRequired(msg) });
    const name = line.slice(0, colon).trim();
    if (!TOKEN.test(name)) throw new SipParseError(`bad header name '${name.slice(0, 40)}'`, { respondable: hasRequired(msg) });
    const key = normalizeHeaderName(name);
    const value = line.slice(colon + 1).trim();
    const values = MULTI_VALUE.has(key) ? splitCommaValues(value) : [value];
    const list = msg.headers.get(key);
    if (list) list.push(...values);
    else {
      msg.headers.set(key, values);
      msg.order.push(key);
    }
  }

  const missing = REQUIRED.filter((k) => !msg.headers.has(k));
  try {
    for (const key of msg.order) msg.refresh(key);
  } catch (err) {
    throw new SipParseError((err as Error).message.replace(/^malformed SIP message: /, ''), { respondable: missing.length === 0 && canBuildResponse(msg) });
  }
  if (missing.length) throw new SipParseError(`missing ${missing.join(', ')}`, { respondable: false });
  if (msg instanceof SipRequest && msg.cseq.method !== msg.method && !(msg.method === 'ACK' && msg.cseq.method === 'INVITE')) {
    throw new SipParseError(`CSeq method ${msg.cseq.method} does not match ${msg.method}`, { respondable: true });
  }

  const bodyStart = end.at + end.length;
  const available = buf.length - bodyStart;
  const cl = msg.header('content-length');
  let length = available;
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl.trim())) throw new SipParseError(`bad Content-Length '${cl}'`, { respondable: true });
    length = Number(cl);
    // §18.3: over a datagram a Content-Length larger than what arrived is an error; a smaller one truncates.
    if (length > available) throw new SipParseError(`Content-Length ${length} but ${available} body bytes arrived`, { respondable: true });
  }
  msg.body = ownedBytes(buf.subarray(bodyStart, bodyStart + length));
  return msg;
}

function startLine(line: string): SipMessage {
  if (line.startsWith('SIP/2.0 ')) {
    const m = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/.exec(line);
    if (!m) throw new SipParseError(`bad status line '${line.slice(0, 80)}'`);
    return new SipResponse(Number(m[1]), m[2] ?? '');
  }
  const m = /^([A-Za-z]+) (\S+) SIP\/2\.0$/.exec(line);
  if (!m) throw new SipParseError(`bad request line '${line.slice(0, 80)}'`);
  return new SipRequest(m[1]!.toUpperCase(), m[2]!);
}

function hasRequired(msg: SipMessage): boolean {
  return REQUIRED.every((k) => msg.headers.has(k));
}

/** A 400 needs the Via to route it and the dialog identifiers to copy. */
function canBuildResponse(msg: SipMessage): boolean {
  try {
    for (const k of ['via', 'from', 'to', 'call-id', 'cseq']) msg.refresh(k);
    return msg.via.length > 0;
  } catch {
    return false;
  }
}

/** A best-effort copy of a request's identifying headers, for a 400 to a message that failed to parse. */
export function salvageRequest(buf: Buffer): SipRequest | undefined {
  try {
    const head = buf.subarray(0, Math.min(buf.length, DEFAULT_LIMITS.maxMessageBytes)).toString('latin1');
    const lines = head.split(/\r?\n/);
    const m = /^([A-Za-z]+) (\S+) SIP\/2\.0$/.exec(lines[0] ?? '');
    if (!m) return undefined;
    const req = new SipRequest(m[1]!.toUpperCase(), m[2]!);
    for (const line of lines.slice(1, 101)) {
      if (line === '') break;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const key = normalizeHeaderName(line.slice(0, colon));
      if (!(REQUIRED as readonly string[]).includes(key)) continue;
      const value = line.slice(colon + 1).trim();
      try {
        req.addHeader(key, value);
      } catch {
        req.removeHeader(key);
      }
    }
    return hasRequired(req) && req.via.length > 0 ? req : undefined;
  } catch {
    return undefined;
  }
}
