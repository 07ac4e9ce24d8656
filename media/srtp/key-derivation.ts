import { createCipheriv } from 'node:crypto';

/** RFC 3711 §4.3.1 labels. */
export const LABEL = {
  rtpEncryption: 0x00, rtpAuth: 0x01, rtpSalt: 0x02,
  rtcpEncryption: 0x03, rtcpAuth: 0x04, rtcpSalt: 0x05,
} as const;

/**
 * RFC 3711 §4.3.1 with key_derivation_rate 0 (r = 0, so key_id = label || 0^48):
 * x = key_id XOR master_salt, and the session key is the AES-CM keystream from IV = x · 2^16
 * under the master key. Runs once per session and label, never per packet.
 */
export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0, 0, 14);
  // key_id is 56 bits aligned to the right of the 112-bit salt: the label is octet 7.
  iv[7] = iv[7]! ^ label;
  const c = createCipheriv('aes-128-ctr', masterKey, iv);
  return Buffer.concat([c.update(Buffer.alloc(length)), c.final()]);
}
