import { DigestError } from './errors.js';
import { randomChunk } from '../message/build.js';
import { digestResponse, h, toAlgorithm, type DigestAlgorithm } from './hash.js';
import { parseDigestParams, quote } from './params.js';

export interface DigestCredentials { username: string; password: string; /** restrict to this realm when set */ realm?: string }

export type ChallengeOutcome =
  | { kind: 'retry'; header: 'Authorization' | 'Proxy-Authorization'; value: string; stale: boolean }
  | { kind: 'rejected'; reason: 'credentials-refused' | 'realm-mismatch' };

/**
 * One credential set for one account (many accounts ⇒ many DigestClients in one
 * process). Remembers the last nonce so it can count nc and pre-authorize.
 */
export class DigestClient {
  private nonce = '';
  private nc = 0;
  private sentFor = ''; // nonce whose credentials were last sent and not yet accepted
  private last: { status: 401 | 407; algorithm: DigestAlgorithm; realm: string; opaque: string | undefined; qop: boolean } | undefined;

  /** H(username:realm:password) for the realm last used: the same on every refresh, so computed once. */
  private ha1: { key: string; value: string } | undefined;

  constructor(private readonly creds: DigestCredentials) {}

  /**
   * Answer a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) challenge.
   * RFC 7616 §3.3: stale=true means "the client may wish to simply retry the
   * request with a new encrypted response, without reprompting the user".
   * A fresh challenge after our credentials were sent with a non-stale nonce
   * means the credentials were refused.
   */
  answer(status: 401 | 407, challenge: string, method: string, uri: string): ChallengeOutcome {
    const p = parseDigestParams(challenge);
    const realm = p.get('realm');
    const nonce = p.get('nonce');
    if (realm === undefined || nonce === undefined) throw new DigestError('SIP_ERR_DIGEST_PARSE', 'challenge without realm or nonce', { challenge });
    if (this.creds.realm !== undefined && this.creds.realm !== realm) return { kind: 'rejected', reason: 'realm-mismatch' };
    const stale = (p.get('stale') ?? '').toLowerCase() === 'true';
    if (this.sentFor !== '' && !stale) { this.sentFor = ''; return { kind: 'rejected', reason: 'credentials-refused' }; }
    const algorithm = toAlgorithm(p.get('algorithm'));
    const qops = (p.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase()).filter(Boolean);
    if (qops.length > 0 && !qops.includes('auth')) throw new DigestError('SIP_ERR_DIGEST_QOP', `no supported qop in "${p.get('qop')}"`, { qop: p.get('qop') });
    if (nonce !== this.nonce) { this.nonce = nonce; this.nc = 0; }
    this.sentFor = nonce;
    this.last = { status, algorithm, realm, opaque: p.get('opaque'), qop: qops.length > 0 };
    const value = this.build(algorithm, realm, nonce, p.get('opaque'), qops.length > 0, method, uri);
    return { kind: 'retry', header: status === 407 ? 'Proxy-Authorization' : 'Authorization', value, stale };
  }

  /**
   * Credentials for the next request from the last nonce (nc incremented), so a
   * refresh needs no extra round trip; undefined before the first challenge.
   * An expired nonce then draws stale=true, which `answer` retries. A
   * pre-authorized request is not counted as "credentials sent": a fresh
   * non-stale challenge to it is answered, not treated as a refusal.
   */
  preauthorize(method: string, uri: string): { header: 'Authorization' | 'Proxy-Authorization'; value: string } | undefined {
    const l = this.last;
    if (!l || this.nonce === '') return undefined;
    return { header: l.status === 407 ? 'Proxy-Authorization' : 'Authorization', value: this.build(l.algorithm, l.realm, this.nonce, l.opaque, l.qop, method, uri) };
  }

  /** The request was accepted (2xx): the next challenge is a new round, not a refusal. */
  accepted(): void { this.sentFor = ''; }

  private build(algorithm: DigestAlgorithm, realm: string, nonce: string, opaque: string | undefined, qop: boolean, method: string, uri: string): string {
    const cnonce = randomChunk(12).toString('hex');
    const nc = (++this.nc).toString(16).padStart(8, '0');
    const key = `${algorithm}\0${realm}`;
    if (this.ha1?.key !== key) this.ha1 = { key, value: h(algorithm, `${this.creds.username}:${realm}:${this.creds.password}`) };
    const response = digestResponse({ algorithm, username: this.creds.username, realm, ha1: this.ha1.value, method, uri, nonce, ...(qop ? { qop: 'auth' as const, nc, cnonce } : {}), cnonce });
    const parts = [`username=${quote(this.creds.username)}`, `realm=${quote(realm)}`, `nonce=${quote(nonce)}`, `uri=${quote(uri)}`, `response=${quote(response)}`, `algorithm=${algorithm}`];
    if (qop || algorithm.endsWith('-sess')) parts.push(`cnonce=${quote(cnonce)}`);
    if (qop) parts.push('qop=auth', `nc=${nc}`);
    if (opaque !== undefined) parts.push(`opaque=${quote(opaque)}`);
    return `Digest ${parts.join(', ')}`;
  }
}
