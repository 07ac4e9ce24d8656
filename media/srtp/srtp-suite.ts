/**
 * The SDES crypto suites we speak (RFC 4568 §6.2). Both use AES-128 in counter mode and
 * HMAC-SHA1 with a 30-octet master key||salt; they differ only in the SRTP tag length. SRTCP's
 * tag is 80 bits for both (RFC 4568 §6.2.2: "the SRTCP authentication tag ... is 80 bits").
 */
export type SrtpSuiteName = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

export interface SrtpSuite {
  readonly name: SrtpSuiteName;
  readonly keyLength: 16;
  readonly saltLength: 14;
  readonly authKeyLength: 20;
  readonly rtpTagLength: number;
  readonly rtcpTagLength: 10;
}

export const SRTP_SUITES: Readonly<Record<SrtpSuiteName, SrtpSuite>> = {
  AES_CM_128_HMAC_SHA1_80: { name: 'AES_CM_128_HMAC_SHA1_80', keyLength: 16, saltLength: 14, authKeyLength: 20, rtpTagLength: 10, rtcpTagLength: 10 },
  AES_CM_128_HMAC_SHA1_32: { name: 'AES_CM_128_HMAC_SHA1_32', keyLength: 16, saltLength: 14, authKeyLength: 20, rtpTagLength: 4, rtcpTagLength: 10 },
};

export const isSrtpSuiteName = (s: string): s is SrtpSuiteName => Object.hasOwn(SRTP_SUITES, s);

/** One direction's keying: the master key and master salt (RFC 3711 §3.2.1). */
export interface SrtpKeyingMaterial {
  suite: SrtpSuiteName;
  masterKey: Buffer;
  masterSalt: Buffer;
}
