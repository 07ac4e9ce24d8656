import { stripControls } from './grammar.js';

/**
 * Header names: compact forms (RFC 3261 §7.3.3 and later RFCs) and the
 * canonical spelling used when serializing.
 */
const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type',
  f: 'from', s: 'subject', k: 'supported', t: 'to', v: 'via', o: 'event', r: 'refer-to',
  b: 'referred-by', u: 'allow-events', x: 'session-expires', a: 'accept-contact', j: 'reject-contact', d: 'request-disposition',
};

const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate', 'min-se': 'Min-SE',
  'session-expires': 'Session-Expires', 'mime-version': 'MIME-Version', 'rack': 'RAck', 'rseq': 'RSeq',
};

/** Lower-case long form of a header name as it appeared on the wire. */
export function normalizeHeaderName(name: string): string {
  const lower = name.trim().toLowerCase();
  return COMPACT[lower] ?? lower;
}

/** The spelling a header goes out with: `Via`, `Call-ID`, `CSeq`, `WWW-Authenticate`. */
export function canonicalHeaderName(lower: string): string {
  let name = spelled.get(lower);
  if (name === undefined) {
    name = CANONICAL[lower] ?? lower.replace(/(^|-)([a-z])/g, (_, dash: string, ch: string) => dash + ch.toUpperCase());
    // Every message we write spells the same few dozen names: remember them (bounded, since peers choose the names we copy).
    if (spelled.size < 512) spelled.set(lower, name);
  }
  return name;
}

const spelled = new Map<string, string>();

/**
 * Splits a header value at top-level commas (RFC 3261 §7.3.1: several values
 * may share one line), leaving commas inside quotes and <…> alone.
 */
export function splitCommaValues(value: string, dropEmpty = true): string[] {
  const out: string[] = [];
  let depthAngle = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && quoted) {
      i++;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '<') depthAngle++;
    else if (!quoted && ch === '>') depthAngle = Math.max(0, depthAngle - 1);
    else if (!quoted && depthAngle === 0 && ch === ',') {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return dropEmpty ? out.filter((v) => v.length > 0) : out;
}

/** Headers whose values may be comma-joined on one line and are kept one per entry. */
export const MULTI_VALUE = new Set(['via', 'route', 'record-route', 'contact', 'allow', 'supported', 'require', 'proxy-require', 'unsupported', 'accept', 'allow-events']);

export { parseParams } from './grammar.js';

export function formatParams(params: ReadonlyMap<string, string>): string {
  let out = '';
  // A quoted value may hold an escaped control character (RFC 4475 §3.1.1.2): none goes back out.
  for (const [k, v] of params) out += v === '' ? `;${k}` : `;${k}=${stripControls(v)}`;
  return out;
}
