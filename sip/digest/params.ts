import { DigestError } from './errors.js';

/**
 * Parses `Digest k=v, k="quoted", ...` (RFC 7616 §3.3 / RFC 3261 §25.1 auth-param).
 * Quoted values may contain commas and backslash escapes.
 */
export function parseDigestParams(header: string): Map<string, string> {
  const m = /^\s*Digest\s+/i.exec(header);
  if (!m) throw new DigestError('SIP_ERR_DIGEST_PARSE', 'not a Digest challenge or credential', { header });
  const out = new Map<string, string>();
  let i = m[0].length;
  const s = header;
  while (i < s.length) {
    while (i < s.length && (s[i] === ',' || s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= s.length) break;
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new DigestError('SIP_ERR_DIGEST_PARSE', 'auth-param without "="', { header });
    const name = s.slice(i, eq).trim().toLowerCase();
    if (!/^[a-z0-9_-]+$/.test(name)) throw new DigestError('SIP_ERR_DIGEST_PARSE', `bad auth-param name "${name}"`, { header });
    i = eq + 1;
    while (s[i] === ' ' || s[i] === '\t') i++;
    let value = '';
    if (s[i] === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const c = s[i];
        if (c === '\\' && i + 1 < s.length) { value += s[i + 1]; i += 2; continue; }
        if (c === '"') { closed = true; i++; break; }
        value += c; i++;
      }
      if (!closed) throw new DigestError('SIP_ERR_DIGEST_PARSE', `unterminated quoted value for ${name}`, { header });
    } else {
      const end = s.indexOf(',', i);
      value = (end < 0 ? s.slice(i) : s.slice(i, end)).trim();
      i = end < 0 ? s.length : end;
    }
    out.set(name, value);
  }
  return out;
}

export function quote(v: string): string {
  return `"${v.replace(/["\\]/g, (c) => '\\' + c)}"`;
}
