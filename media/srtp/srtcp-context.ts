import { AesCm } from './aes-cm.js';
import { HmacSha1, tagsEqual } from './hmac-sha1.js';
import { deriveSessionKey, LABEL } from './key-derivation.js';
import { ReplayWindow } from './replay-window.js';
import { SRTP_AUTH_FAILED, SRTP_MALFORMED, SRTP_REPLAYED } from './srtp-context.js';
import { SRTP_SUITES, type SrtpKeyingMaterial } from './srtp-suite.js';

const HEADER = 8; // first RTCP header + sender SSRC stay in the clear
const E_INDEX = 4; // E flag ‖ 31-bit SRTCP index
const TAG = 10; // 80 bits for both suites

/**
 * RFC 3711 §3.4 SRTCP packet:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+<+
 * |V=2|P|    RC   |   PT=SR or RR   |             length          | |
 * |                         SSRC of sender                        | |
 * +>+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |
 * | ~                          sender info / report blocks ...    ~ |
 * +>+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |
 * | |E|                         SRTCP index                         | |
 * | +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+<+
 * | ~                     authentication tag (80 bits)              ~ |
 * +- Encrypted Portion                    Authenticated Portion -----+
 *
 * One direction's SRTCP context. RTCP goes out every few seconds, so protect() allocates its
 * output; unprotect() works in place like SRTP's.
 */
export class SrtcpContext {
  readonly #aes: AesCm;
  readonly #salt: Buffer;
  readonly #hmac: HmacSha1;
  readonly #window = new ReplayWindow();
  #index = 0;

  constructor(keying: SrtpKeyingMaterial) {
    if (!SRTP_SUITES[keying.suite]) throw new TypeError(`unknown SRTP suite ${keying.suite}`);
    const { masterKey: k, masterSalt: s } = keying;
    this.#aes = new AesCm(deriveSessionKey(k, s, LABEL.rtcpEncryption, 16));
    this.#hmac = new HmacSha1(deriveSessionKey(k, s, LABEL.rtcpAuth, 20));
    this.#salt = deriveSessionKey(k, s, LABEL.rtcpSalt, 14);
  }

  /** Encrypts a compound RTCP packet (E = 1) and appends index and tag; null when it is too short. */
  protect(rtcp: Buffer): Buffer | null {
    if (rtcp.length < HEADER) return null;
    const out = Buffer.allocUnsafe(rtcp.length + E_INDEX + TAG);
    rtcp.copy(out, 0);
    const index = this.#index;
    // §3.4: the index "MUST be incremented by one (modulo 2^31) for each SRTCP packet sent".
    this.#index = (this.#index + 1) & 0x7fffffff;
    const ssrc = out.readUInt32BE(4);
    this.#aes.xor(out, HEADER, rtcp.length, this.#salt, ssrc, 0, index);
    out.writeUInt32BE((0x80000000 | index) >>> 0, rtcp.length);
    this.#hmac.digest(out.subarray(0, rtcp.length + E_INDEX), null).copy(out, rtcp.length + E_INDEX, 0, TAG);
    return out;
  }

  /** Returns the RTCP length after decrypting in place, or a negative SRTP_* reason. */
  unprotect(buf: Buffer): number {
    const length = buf.length - E_INDEX - TAG;
    if (length < HEADER || buf[0]! >> 6 !== 2) return SRTP_MALFORMED;
    const word = buf.readUInt32BE(length);
    const encrypted = (word & 0x80000000) !== 0;
    const index = word & 0x7fffffff;
    if (!this.#window.fresh(index)) return SRTP_REPLAYED;
    const tag = this.#hmac.digest(buf.subarray(0, length + E_INDEX), null);
    if (!tagsEqual(buf, length + E_INDEX, tag, TAG)) return SRTP_AUTH_FAILED;
    if (encrypted) this.#aes.xor(buf, HEADER, length, this.#salt, buf.readUInt32BE(4), 0, index);
    this.#window.accept(index);
    return length;
  }
}
