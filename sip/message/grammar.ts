import { SipParseError } from '../errors.js';

/**
 * Small pieces of the RFC 3261 §25 grammar, checked with one regular
 * expression or one linear scan each: enough to refuse what RFC 4475 §3.1.2
 * lists as invalid without building a full parse tree of every header.
 */

/** §25.1 token: the characters of a method, a header name, a parameter name, a tag. */
export const TOKEN = /^[A-Za-z0-9.!%*_+`'~-]+$/;

/** §25.1 word (Call-ID): token characters and a few separators. */
export const WORD_CHARS = /^[A-Za-z0-9.!%*_+`'~()<>:\\"/[\]?{}-]+(?:@[A-Za-z0-9.!%*_+`'~()<>:\\"/[\]?{}-]+)?$/;

/**
 * absoluteURI of §25.1 with any scheme (RFC 4475 §3.3.2, §3.3.4: an unknown
 * scheme is a question for the UA, not a syntax error), and nothing that
 * cannot sit in a URI: no whitespace, controls, angle brackets or quotes.
 */
const ANY_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\x00-\x20\x7f<>"]+$/;

/** hostport of a SIP URI, then uri-parameters; `?headers` are not allowed where this is used. */
const SIP_HOSTPORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9.])?)(?::\d{1,5})?(?:;[^?;]+)*$/;

/** Control characters other than HTAB, and a CR that does not end a line. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;
const CONTROL_G = /\\?[\x00-\x08\x0a-\x1f\x7f]/g;

export function isUri(text: string): boolean {
  return ANY_URI.test(text);
}

/**
 * §25.1 Request-URI: a SIP or SIPS URI without headers (RFC 4475 §3.1.2.11:
 * a `?` part in a Request-URI is malformed), or an absoluteURI of any other
 * scheme (the UA answers 416 to those).
 */
export function isRequestUri(text: string): boolean {
  if (!ANY_URI.test(text)) return false;
  const colon = text.indexOf(':');
  const scheme = text.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') return true;
  const rest = text.slice(colon + 1);
  // user and password cannot hold a bare '@' (§25.1 user-unreserved), so the first one ends them.
  const at = rest.indexOf('@');
  if (at === 0) return false;
  return SIP_HOSTPORT.test(at < 0 ? rest : rest.slice(at + 1));
}

/** `text` without control characters (and the backslash that escaped one): what we write back. */
export function stripControls(text: string): string {
  return CONTROL.test(text) ? text.replace(CONTROL_G, '') : text;
}

/**
 * Where the quoted string opening at `from` (a '"') ends: the index of its
 * closing quote. Throws on an unterminated one (RFC 4475 §3.1.2.6) or a
 * quoted-pair escaping CR or LF (§25.1 excludes them).
 */
export function quotedEnd(text: string, from: number, header: string): number {
  for (let i = from + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) {
      const n = text.charCodeAt(i + 1);
      if (Number.isNaN(n) || n === 0x0d || n === 0x0a) break;
      i++;
    } else if (c === 0x22) {
      return i;
    }
  }
  throw new SipParseError(`unterminated quoted string in ${header}`, { kind: 'quoted-string' });
}

/**
 * Checks a header line with control characters: each must be escaped by a
 * backslash inside a quoted string (a quoted-pair, RFC 4475 §3.1.1.2), and
 * never be a CR or LF (a bare CR inside a line is how header injection starts).
 */
export function checkControls(line: string): void {
  let quoted = false;
  let ok = true;
  for (let i = 0; i < line.length && ok; i++) {
    const c = line.charCodeAt(i);
    if (quoted && c === 0x5c) {
      const n = line.charCodeAt(++i);
      ok = !Number.isNaN(n) && n !== 0x0d && n !== 0x0a;
    } else if (c === 0x22) {
      quoted = !quoted;
    } else {
      ok = (c >= 0x20 || c === 0x09) && c !== 0x7f;
    }
  }
  if (!ok) throw new SipParseError('control characters in the header block', { kind: 'control-character' });
}

/**
 * `;name[=value]` parameters (§25.1 generic-param) into a map: names
 * lower-cased, flags with value ''. Whitespace around `;` and `=` is allowed
 * (LWS, RFC 4475 §3.1.1.1); an empty parameter (`;;`, RFC 4475 §3.1.2.1), a
 * name that is not a token or an unterminated quoted value is refused.
 * Quoted values keep their quotes and escapes, so that they go out as they came in.
 */
export function parseParams(text: string, header = 'parameters'): Map<string, string> {
  const params = new Map<string, string>();
  const n = text.length;
  let i = 0;
  while (i < n && isWs(text.charCodeAt(i))) i++;
  while (i < n) {
    if (text.charCodeAt(i) !== 0x3b) throw new SipParseError(`expected ';' in ${header}`, { kind: 'bad-header' });
    i++;
    while (i < n && isWs(text.charCodeAt(i))) i++;
    const nameStart = i;
    while (i < n && isTokenChar(text.charCodeAt(i))) i++;
    if (i === nameStart) throw new SipParseError(`empty parameter in ${header}`, { kind: 'bad-header' });
    const name = text.slice(nameStart, i).toLowerCase();
    while (i < n && isWs(text.charCodeAt(i))) i++;
    let value = '';
    if (i < n && text.charCodeAt(i) === 0x3d) {
      i++;
      while (i < n && isWs(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) === 0x22) {
        const end = quotedEnd(text, i, header);
        value = text.slice(i, end + 1);
        i = end + 1;
      } else {
        // token, host (IPv6 in brackets) or the gen-value of a URI parameter.
        const vs = i;
        while (i < n && isValueChar(text.charCodeAt(i))) i++;
        if (i === vs) throw new SipParseError(`empty value of ${name} in ${header}`, { kind: 'bad-header' });
        value = text.slice(vs, i);
      }
      while (i < n && isWs(text.charCodeAt(i))) i++;
    }
    params.set(name, value);
  }
  return params;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** token characters: alphanumerics and -.!%*_+`'~ */
export function isTokenChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) ||
    c === 0x2d || c === 0x2e || c === 0x21 || c === 0x25 || c === 0x2a || c === 0x5f || c === 0x2b || c === 0x60 || c === 0x27 || c === 0x7e;
}

/** A parameter value: token characters plus what hosts and URI parameters add ([ ] : / @ & $ ? = ( ) ,). */
function isValueChar(c: number): boolean {
  return isTokenChar(c) || c === 0x5b || c === 0x5d || c === 0x3a || c === 0x2f || c === 0x40 || c === 0x26 || c === 0x24 || c === 0x3f || c === 0x28 || c === 0x29 || c >= 0x80;
}
