import { randomBytes } from 'node:crypto';
import { SrtcpContext } from './srtcp-context.js';
import { SrtpContext } from './srtp-context.js';
import { SRTP_SUITES, type SrtpKeyingMaterial, type SrtpSuiteName } from './srtp-suite.js';

/** The two directions' keys of one SDES-keyed stream (RFC 4568: each side declares its own). */
export interface SrtpSessionKeys {
  /** Our key, sent in our a=crypto: protects what we send. */
  local: SrtpKeyingMaterial;
  /** The peer's key from its a=crypto: unprotects what it sends. */
  remote: SrtpKeyingMaterial;
}

/** Fresh keying material for one direction (RFC 4568 §6.1: a new random key per offer/answer). */
export function generateKeyingMaterial(suite: SrtpSuiteName): SrtpKeyingMaterial {
  const s = SRTP_SUITES[suite];
  const raw = randomBytes(s.keyLength + s.saltLength);
  return { suite, masterKey: raw.subarray(0, s.keyLength), masterSalt: raw.subarray(s.keyLength) };
}

const sameKey = (a: SrtpKeyingMaterial, b: SrtpKeyingMaterial): boolean =>
  a.suite === b.suite && a.masterKey.equals(b.masterKey) && a.masterSalt.equals(b.masterSalt);

/** SRTP and SRTCP in both directions for one RTP session. */
export class SrtpSession {
  rtpOut!: SrtpContext;
  rtpIn!: SrtpContext;
  rtcpOut!: SrtcpContext;
  rtcpIn!: SrtcpContext;
  #keys: SrtpSessionKeys | null = null;

  constructor(keys: SrtpSessionKeys) {
    this.rekey(keys);
  }

  /**
   * New keys from a re-INVITE. A direction whose key is unchanged keeps its contexts: starting
   * a fresh context under the same key would restart ROC and SRTCP index, and so repeat the
   * keystream (RFC 3711 §9.1: a two-time pad).
   */
  rekey(keys: SrtpSessionKeys): void {
    const old = this.#keys;
    if (!old || !sameKey(old.local, keys.local)) {
      this.rtpOut = new SrtpContext(keys.local);
      this.rtcpOut = new SrtcpContext(keys.local);
    }
    if (!old || !sameKey(old.remote, keys.remote)) {
      this.rtpIn = new SrtpContext(keys.remote);
      this.rtcpIn = new SrtcpContext(keys.remote);
    }
    this.#keys = keys;
  }
}
