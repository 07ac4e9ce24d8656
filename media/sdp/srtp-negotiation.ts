import { MediaError } from '../errors.js';
import { generateKeyingMaterial, type SrtpKeyingMaterial, type SrtpSuiteName } from '../srtp/index.js';
import { formatCryptoAttribute, isCryptoAttribute, parseCryptoAttribute, type CryptoSkip } from './crypto-attribute.js';
import type { AudioMedia } from './session-description.js';

/**
 * A trunk's SRTP policy (RFC 4568 SDES on the carrier leg):
 * - `required`: only RTP/SAVP with a crypto suite we support; RTP/AVP offers get 488; our own
 *   offers are RTP/SAVP.
 * - `offered`: RTP/SAVP offers are answered with SRTP, RTP/AVP offers with plain RTP; our own
 *   offers are RTP/AVP (best-effort SRTP in one offer, RFC 5939, is out of scope).
 * - `off`: plain RTP only; RTP/SAVP offers get 488 (never an SAVP answer without keys).
 */
export type SrtpPolicy = 'required' | 'offered' | 'off';

export interface SrtpOptions {
  policy: SrtpPolicy;
  /** Our suites in preference order (the offer's order decides among these). */
  suites?: readonly SrtpSuiteName[];
}

/** What SDES settled for one stream: whose key protects which direction. */
export interface NegotiatedSrtp {
  suite: SrtpSuiteName;
  tag: number;
  /** our key (we send with it; it is in our a=crypto) */
  local: SrtpKeyingMaterial;
  /** the peer's key (it sends with it) */
  remote: SrtpKeyingMaterial;
}

export const DEFAULT_SRTP_SUITES: readonly SrtpSuiteName[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

const isSecure = (proto: string): boolean => /^RTP\/SAVP$/i.test(proto);

/**
 * Decides the answer's SRTP for an audio offer: null for plain RTP, or the chosen crypto line
 * with our key. `current` (re-INVITE) keeps our key when the suite stays the same, so our
 * sending context goes on without a key (and keystream) restart. Throws the 488 errors.
 */
export function answerSrtp(audio: AudioMedia, o: SrtpOptions, current: NegotiatedSrtp | null): NegotiatedSrtp | null {
  const secure = isSecure(audio.proto);
  if (!secure) {
    if (o.policy === 'required') {
      throw new MediaError('MEDIA_ERR_SDP_SRTP_POLICY', `offer is ${audio.proto} but this trunk requires RTP/SAVP (SRTP)`, { proto: audio.proto, policy: o.policy });
    }
    return null;
  }
  if (o.policy === 'off') {
    throw new MediaError('MEDIA_ERR_SDP_SRTP_POLICY', `offer is ${audio.proto} but SRTP is off for this trunk`, { proto: audio.proto, policy: o.policy });
  }
  const ours = o.suites ?? DEFAULT_SRTP_SUITES;
  const skipped: CryptoSkip[] = [];
  // RFC 4568 §7.1.1: the offer lists crypto lines in its preference order; take the first we can honour.
  for (const value of audio.attributes) {
    if (!value.startsWith('crypto:')) continue;
    const c = parseCryptoAttribute(value);
    if (!isCryptoAttribute(c)) {
      skipped.push(c);
      continue;
    }
    if (!ours.includes(c.suite)) {
      skipped.push({ line: value, why: `suite ${c.suite} not enabled` });
      continue;
    }
    const local = current && current.suite === c.suite ? current.local : generateKeyingMaterial(c.suite);
    return { suite: c.suite, tag: c.tag, local, remote: c.keying };
  }
  throw new MediaError('MEDIA_ERR_SDP_NO_COMMON_CRYPTO', `no a=crypto line we can honour (we support ${ours.join(', ')})`, {
    skipped: skipped.map((s) => `${s.line.split(' inline:')[0]}: ${s.why}`),
  });
}

/** Our offer's crypto lines: one fresh key per suite, tags 1…n (or the current key on a re-offer). */
export function offerCrypto(o: SrtpOptions, current: NegotiatedSrtp | null): { proto: string; attributes: string[]; keys: Map<number, SrtpKeyingMaterial> } {
  const keys = new Map<number, SrtpKeyingMaterial>();
  if (current) keys.set(current.tag, current.local);
  else if (o.policy === 'required') (o.suites ?? DEFAULT_SRTP_SUITES).forEach((s, i) => keys.set(i + 1, generateKeyingMaterial(s)));
  if (keys.size === 0) return { proto: 'RTP/AVP', attributes: [], keys };
  return { proto: 'RTP/SAVP', attributes: [...keys].map(([tag, k]) => formatCryptoAttribute(tag, k)), keys };
}

/** The peer's answer to our offer: its crypto line must echo one of our tags with the same suite. */
export function acceptAnswerSrtp(audio: AudioMedia, offered: Map<number, SrtpKeyingMaterial>): NegotiatedSrtp | null {
  const secure = isSecure(audio.proto);
  if (offered.size === 0) {
    if (secure) throw new MediaError('MEDIA_ERR_SDP_SRTP_POLICY', 'answer is RTP/SAVP to a plain RTP/AVP offer', { proto: audio.proto });
    return null;
  }
  if (!secure) throw new MediaError('MEDIA_ERR_SDP_SRTP_POLICY', `answer is ${audio.proto} to our RTP/SAVP offer`, { proto: audio.proto });
  const lines = audio.attributes.filter((a) => a.startsWith('crypto:'));
  const c = lines.length === 1 ? parseCryptoAttribute(lines[0]!) : null;
  const mine = c && isCryptoAttribute(c) ? offered.get(c.tag) : undefined;
  if (!c || !isCryptoAttribute(c) || !mine || mine.suite !== c.suite) {
    throw new MediaError('MEDIA_ERR_SDP_NO_COMMON_CRYPTO', 'the answer must carry exactly one a=crypto echoing one of our tags and suites', { crypto: lines });
  }
  return { suite: c.suite, tag: c.tag, local: mine, remote: c.keying };
}
