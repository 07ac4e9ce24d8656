import { createHash } from 'node:crypto';
import { DigestError } from './errors.js';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

const ALGORITHMS: ReadonlyMap<string, DigestAlgorithm> = new Map([
  ['md5', 'MD5'], ['md5-sess', 'MD5-sess'], ['sha-256', 'SHA-256'], ['sha-256-sess', 'SHA-256-sess'],
]);

/** RFC 7616 §3.3: "If this is not present, it is assumed to be MD5." */
export function toAlgorithm(v: string | undefined): DigestAlgorithm {
  if (v === undefined) return 'MD5';
  const a = ALGORITHMS.get(v.toLowerCase());
  if (!a) throw new DigestError('SIP_ERR_DIGEST_ALGORITHM', `unsupported digest algorithm ${v}`, { algorithm: v });
  return a;
}

export function h(alg: DigestAlgorithm, data: string): string {
  return createHash(alg.startsWith('SHA-256') ? 'sha256' : 'md5').update(data).digest('hex');
}

export interface ResponseInput {
  algorithm: DigestAlgorithm;
  username: string; realm: string; password?: string; ha1?: string;
  method: string; uri: string; nonce: string;
  qop?: 'auth'; nc?: string; cnonce?: string;
}

/** RFC 7616 §3.4.1–3.4.3 (qop=auth) and RFC 2617 §3.2.2.1 (no qop). */
export function digestResponse(i: ResponseInput): string {
  let ha1 = i.ha1 ?? h(i.algorithm, `${i.username}:${i.realm}:${i.password ?? ''}`);
  // RFC 7616 §3.4.2: for -sess, A1 = H(user:realm:pass) ":" nonce ":" cnonce.
  if (i.algorithm.endsWith('-sess')) ha1 = h(i.algorithm, `${ha1}:${i.nonce}:${i.cnonce ?? ''}`);
  const ha2 = h(i.algorithm, `${i.method}:${i.uri}`);
  if (i.qop === 'auth') return h(i.algorithm, `${ha1}:${i.nonce}:${i.nc}:${i.cnonce}:auth:${ha2}`);
  return h(i.algorithm, `${ha1}:${i.nonce}:${ha2}`);
}
