import { createHash, type Hash } from 'node:crypto';

/**
 * HMAC-SHA1 (RFC 2104) with the key's inner and outer pads hashed once per session: each packet
 * copies the two primed SHA-1 states (Hash#copy) instead of createHmac re-hashing both pads.
 */
export class HmacSha1 {
  readonly #inner: Hash;
  readonly #outer: Hash;

  constructor(key: Buffer) {
    const k = key.length > 64 ? createHash('sha1').update(key).digest() : key;
    const ipad = Buffer.alloc(64, 0x36);
    const opad = Buffer.alloc(64, 0x5c);
    for (let i = 0; i < k.length; i++) {
      ipad[i] = ipad[i]! ^ k[i]!;
      opad[i] = opad[i]! ^ k[i]!;
    }
    this.#inner = createHash('sha1').update(ipad);
    this.#outer = createHash('sha1').update(opad);
  }

  /** HMAC(key, data ‖ trailer): SRTP appends the ROC; SRTCP passes an empty trailer. */
  digest(data: Buffer, trailer: Buffer | null): Buffer {
    const h = this.#inner.copy().update(data);
    if (trailer) h.update(trailer);
    return this.#outer.copy().update(h.digest()).digest();
  }
}

/** Constant-time comparison of the first `len` octets of a tag (no early exit on a mismatch). */
export function tagsEqual(a: Buffer, aOff: number, b: Buffer, len: number): boolean {
  let d = 0;
  for (let i = 0; i < len; i++) d |= a[aOff + i]! ^ b[i]!;
  return d === 0;
}
