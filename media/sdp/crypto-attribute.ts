import { isSrtpSuiteName, SRTP_SUITES, type SrtpKeyingMaterial, type SrtpSuiteName } from '../srtp/index.js';

/**
 * RFC 4568 §9.1 `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]`, restricted
 * to what we can honour: one `inline:` key of an AES_CM_128_HMAC_SHA1 suite, no MKI, a
 * lifetime no shorter than 2^31 packets (we never re-key inside a call, and 2^31 packets are
 * over a year of 20 ms audio), and no session parameter but KDR=0 and WSH (we keep a
 * 64-packet window, RFC 3711's minimum).
 */
export interface CryptoAttribute {
  tag: number;
  suite: SrtpSuiteName;
  keying: SrtpKeyingMaterial;
}

/** Why a crypto line was passed over (kept for the 488's warning text). */
export type CryptoSkip = { line: string; why: string };

const LINE = /^crypto:(\d{1,9}) (\S+) (\S+)(?: (.*))?$/;
const MIN_LIFETIME = 2 ** 31;

/** Parses one `crypto:` attribute value (without `a=`): the attribute, or why it is skipped. */
export function parseCryptoAttribute(value: string): CryptoAttribute | CryptoSkip {
  const skip = (why: string): CryptoSkip => ({ line: value, why });
  const m = LINE.exec(value);
  if (!m) return skip('not tag, suite and key-params');
  const suite = m[2]!;
  if (!isSrtpSuiteName(suite)) return skip(`suite ${suite} not supported`);
  const keyParams = m[3]!;
  // Several key-params (;-separated) only come with MKIs, which we do not do.
  if (keyParams.includes(';')) return skip('more than one key (MKI) not supported');
  const kp = /^inline:([A-Za-z0-9+/]+={0,2})((?:\|[^|]*)*)$/.exec(keyParams);
  if (!kp) return skip('key-params are not inline:<base64>');
  const raw = Buffer.from(kp[1]!, 'base64');
  const s = SRTP_SUITES[suite];
  if (raw.length !== s.keyLength + s.saltLength) return skip(`key||salt is ${raw.length} octets, want ${s.keyLength + s.saltLength}`);
  const extras = kp[2]!.split('|').slice(1);
  if (extras.some((p) => p.includes(':'))) return skip('MKI not supported');
  for (const p of extras) {
    const life = /^(?:2\^(\d+)|(\d+))$/.exec(p);
    if (!life) return skip(`bad lifetime ${p}`);
    const n = life[1] !== undefined ? 2 ** Number(life[1]) : Number(life[2]);
    if (n < MIN_LIFETIME) return skip(`lifetime ${p} is shorter than a call may last without re-keying`);
  }
  for (const sp of (m[4] ?? '').split(' ').filter(Boolean)) {
    if (sp === 'KDR=0' || /^WSH=\d+$/.test(sp)) continue;
    return skip(`session parameter ${sp} not supported`);
  }
  return {
    tag: Number(m[1]),
    suite,
    keying: { suite, masterKey: Buffer.from(raw.subarray(0, s.keyLength)), masterSalt: Buffer.from(raw.subarray(s.keyLength)) },
  };
}

export const isCryptoAttribute = (c: CryptoAttribute | CryptoSkip): c is CryptoAttribute => 'tag' in c;

/** The attribute value (without `a=`) for our key. */
export function formatCryptoAttribute(tag: number, keying: SrtpKeyingMaterial): string {
  return `crypto:${tag} ${keying.suite} inline:${Buffer.concat([keying.masterKey, keying.masterSalt]).toString('base64')}`;
}
