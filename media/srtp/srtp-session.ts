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

/** SRTP and SRTCP in both directions for one RTP session. */
export class SrtpSession {
  readonly rtpOut: SrtpContext;
  readonly rtpIn: SrtpContext;
  readonly rtcpOut: SrtcpContext;
  readonly rtcpIn: SrtcpContext;

  constructor(keys: SrtpSessionKeys) {
    this.rtpOut = new SrtpContext(keys.local);
    this.rtpIn = new SrtpContext(keys.remote);
    this.rtcpOut = new SrtcpContext(keys.local);
    this.rtcpIn = new SrtcpContext(keys.remote);
  }
}
