import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { digestResponse, toAlgorithm, type DigestAlgorithm } from './hash.js';
import { parseDigestParams, quote } from './params.js';
import { DigestError } from './errors.js';

export interface DigestServerOptions {
  realm: string;
  /** HMAC key that signs nonces, so no per-nonce state is needed to issue them. */
  secret?: Buffer;
  nonceTtlMs?: number;
  algorithm?: DigestAlgorithm;
  /** Password (or precomputed HA1 via `{ ha1 }`) of a user, undefined when unknown. */
  lookup: (username: string) => string | { ha1: string } | undefined;
  /** Bound on remembered nonces for nc replay protection (oldest evicted first). */
  maxTrackedNonces?: number;
  now?: () => number;
}

export type VerifyResult =
  | { ok: true; username: string }
  | { ok: false; stale: boolean; reason: 'missing' | 'malformed' | 'realm' | 'unknown-user' | 'bad-nonce' | 'expired' | 'replay' | 'bad-response' };

/** Digest server for browser and softphone users (RFC 7616 §3.3–3.5, RFC 3261 §22.4). */
export class DigestServer {
  private readonly secret: Buffer;
  private readonly ttl: number;
  private readonly algorithm: DigestAlgorithm;
  private readonly seen = new Map<string, number>(); // nonce → highest nc accepted
  private readonly max: number;
  private readonly now: () => number;

  constructor(private readonly o: DigestServerOptions) {
    this.secret = o.secret ?? randomBytes(32);
    this.ttl = o.nonceTtlMs ?? 300_000;
    this.algorithm = o.algorithm ?? 'MD5';
    this.max = o.maxTrackedNonces ?? 100_000;
    this.now = o.now ?? Date.now;
  }

  /** Value for WWW-Authenticate (or Proxy-Authenticate). */
  challenge(stale = false): string {
    const ts = this.now().toString(36);
    const salt = randomBytes(9).toString('base64url');
    const nonce = `${ts}.${salt}.${this.sign(`${ts}.${salt}`)}`;
    return `Digest realm=${quote(this.o.realm)}, nonce=${quote(nonce)}, algorithm=${this.algorithm}, qop="auth"${stale ? ', stale=true' : ''}`;
  }

  verify(authorization: string | undefined, method: string): VerifyResult {
    if (authorization === undefined) return { ok: false, stale: false, reason: 'missing' };
    let p: Map<string, string>;
    let alg: DigestAlgorithm;
    try { p = parseDigestParams(authorization); alg = toAlgorithm(p.get('algorithm')); } catch (e) {
      if (e instanceof DigestError) return { ok: false, stale: false, reason: 'malformed' };
      throw e;
    }
    const [username, realm, nonce, uri, response] = ['username', 'realm', 'nonce', 'uri', 'response'].map((k) => p.get(k));
    if (!username || !nonce || uri === undefined || !response) return { ok: false, stale: false, reason: 'malformed' };
    if (realm !== this.o.realm) return { ok: false, stale: false, reason: 'realm' };
    const parts = nonce.split('.');
    if (parts.length !== 3 || !this.eq(this.sign(`${parts[0]}.${parts[1]}`), parts[2]!)) return { ok: false, stale: false, reason: 'bad-nonce' };
    const secret = this.o.lookup(username);
    if (secret === undefined) return { ok: false, stale: false, reason: 'unknown-user' };
    const qop = p.get('qop');
    const nc = p.get('nc');
    const cnonce = p.get('cnonce');
    if (qop !== undefined && (qop !== 'auth' || !nc || !/^[0-9a-f]{8}$/i.test(nc) || !cnonce)) return { ok: false, stale: false, reason: 'malformed' };
    const expected = digestResponse({ algorithm: alg, username, realm, method, uri, nonce, ...(typeof secret === 'string' ? { password: secret } : { ha1: secret.ha1 }), ...(qop ? { qop: 'auth' as const, nc: nc!, cnonce: cnonce! } : {}), ...(cnonce ? { cnonce } : {}) });
    if (!this.eq(expected, response.toLowerCase())) return { ok: false, stale: false, reason: 'bad-response' };
    // RFC 7616 §3.3 stale: "the request from the client was rejected because the nonce value was stale" — credentials were right.
    const issued = parseInt(parts[0]!, 36);
    if (!(this.now() - issued <= this.ttl)) return { ok: false, stale: true, reason: 'expired' };
    // nc replay: each nonce count must grow (RFC 7616 §3.4: "detect request replays by maintaining its own copy of this count").
    const n = nc ? parseInt(nc, 16) : 0;
    const prev = this.seen.get(nonce);
    if (prev !== undefined && n <= prev) return { ok: false, stale: false, reason: 'replay' };
    if (prev === undefined && this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!);
    this.seen.delete(nonce);
    this.seen.set(nonce, n);
    return { ok: true, username };
  }

  private sign(s: string): string { return createHmac('sha256', this.secret).update(s).digest('base64url').slice(0, 22); }
  private eq(a: string, b: string): boolean {
    const x = Buffer.from(a); const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  }
}
