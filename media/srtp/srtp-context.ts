import { AesCm } from './aes-cm.js';
import { HmacSha1, tagsEqual } from './hmac-sha1.js';
import { deriveSessionKey, LABEL } from './key-derivation.js';
import { ReplayWindow } from './replay-window.js';
import { SRTP_SUITES, type SrtpKeyingMaterial, type SrtpSuite } from './srtp-suite.js';

/** Why unprotect refused a packet (a negative return value, never an exception). */
export const SRTP_MALFORMED = -1;
export const SRTP_AUTH_FAILED = -2;
export const SRTP_REPLAYED = -3;

/** One SSRC's rollover state (RFC 3711 §3.2.1: ROC, s_l) and replay list. */
interface SsrcState {
  roc: number;
  sl: number;
  window: ReplayWindow;
}

/** More SSRCs than a phone call ever uses; beyond this the oldest state is forgotten. */
const MAX_SSRCS = 8;

/**
 * RFC 3711 §3.1 SRTP packet:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+<+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         | |
 * |                           timestamp                           | |
 * |           synchronization source (SSRC) identifier            | |
 * |            contributing source (CSRC) identifiers ....        | |
 * |                   RTP extension (OPTIONAL)                    | |
 * +>+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |
 * | |                          payload  ...                         | |
 * | |                               +-------------------------------+ |
 * | |                               | RTP padding   | RTP pad count | |
 * +>+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+<+
 * ~                     authentication tag (80 or 32 bits)        ~ |
 * +- Encrypted Portion                       Authenticated Portion ---+
 *
 * One direction's SRTP crypto context: protect (sender) or unprotect (receiver) in place.
 */
export class SrtpContext {
  readonly suite: SrtpSuite;
  readonly #aes: AesCm;
  readonly #salt: Buffer;
  readonly #hmac: HmacSha1;
  readonly #roc = Buffer.alloc(4);
  readonly #states = new Map<number, SsrcState>();

  constructor(keying: SrtpKeyingMaterial) {
    this.suite = SRTP_SUITES[keying.suite];
    const { masterKey: k, masterSalt: s } = keying;
    this.#aes = new AesCm(deriveSessionKey(k, s, LABEL.rtpEncryption, 16));
    this.#hmac = new HmacSha1(deriveSessionKey(k, s, LABEL.rtpAuth, 20));
    this.#salt = deriveSessionKey(k, s, LABEL.rtpSalt, 14);
  }

  /** Extra octets protect() appends (the tag): size send buffers with it. */
  get overhead(): number {
    return this.suite.rtpTagLength;
  }

  /**
   * Encrypts buf[header, length) in place and writes the tag at `length`; returns the SRTP
   * length, or SRTP_MALFORMED when the header does not parse or the buffer has no room for the tag.
   */
  protect(buf: Buffer, length: number = buf.length - this.suite.rtpTagLength): number {
    const tagLen = this.suite.rtpTagLength;
    const hdr = headerLength(buf, length);
    if (hdr < 0 || buf.length < length + tagLen) return SRTP_MALFORMED;
    const seq = (buf[2]! << 8) | buf[3]!;
    const ssrc = ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;
    let st = this.#states.get(ssrc);
    if (!st) st = this.#remember(ssrc, { roc: 0, sl: seq, window: new ReplayWindow() });
    // The sender's ROC counts wraps of its own sequence numbers (§3.3.1).
    else if (seq < st.sl && st.sl - seq > 0x8000) st.roc = (st.roc + 1) >>> 0;
    st.sl = seq;
    this.#aes.xor(buf, hdr, length, this.#salt, ssrc, st.roc >>> 16, ((st.roc & 0xffff) << 16 | seq) >>> 0);
    this.#roc.writeUInt32BE(st.roc, 0);
    const tag = this.#hmac.digest(buf.subarray(0, length), this.#roc);
    tag.copy(buf, length, 0, tagLen);
    return length + tagLen;
  }

  /**
   * Authenticates, checks for replay and decrypts `buf` in place; returns the RTP length (the
   * tag stripped) or a negative SRTP_* reason. Garbage never throws.
   */
  unprotect(buf: Buffer): number {
    const tagLen = this.suite.rtpTagLength;
    const length = buf.length - tagLen;
    const hdr = headerLength(buf, length);
    if (hdr < 0) return SRTP_MALFORMED;
    const seq = (buf[2]! << 8) | buf[3]!;
    const ssrc = ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;
    const known = this.#states.get(ssrc);
    // §3.3.1: a new SSRC starts with ROC 0 and s_l = its first sequence number.
    const st = known ?? { roc: 0, sl: seq, window: new ReplayWindow() };
    const v = estimateRoc(st.roc, st.sl, seq);
    if (v < 0) return SRTP_REPLAYED; // before the first wrap: older than the stream itself
    const index = v * 0x10000 + seq;
    if (!st.window.fresh(index)) return SRTP_REPLAYED;
    this.#roc.writeUInt32BE(v >>> 0, 0);
    const tag = this.#hmac.digest(buf.subarray(0, length), this.#roc);
    if (!tagsEqual(buf, length, tag, tagLen)) return SRTP_AUTH_FAILED;
    this.#aes.xor(buf, hdr, length, this.#salt, ssrc, v >>> 16, ((v & 0xffff) << 16 | seq) >>> 0);
    // §3.3.1: ROC and s_l move only after the packet authenticated.
    if (v === st.roc + 1) {
      st.roc = v;
      st.sl = seq;
    } else if (v === st.roc && seq > st.sl) st.sl = seq;
    st.window.accept(index);
    if (!known) this.#remember(ssrc, st);
    return length;
  }

  #remember(ssrc: number, st: SsrcState): SsrcState {
    if (this.#states.size >= MAX_SSRCS) this.#states.delete(this.#states.keys().next().value!);
    this.#states.set(ssrc, st);
    return st;
  }
}

/** RFC 3711 §3.3.1 / Appendix A: the ROC a received sequence number most probably belongs to. */
export function estimateRoc(roc: number, sl: number, seq: number): number {
  if (sl < 0x8000) return seq - sl > 0x8000 ? roc - 1 : roc;
  return sl - 0x8000 > seq ? roc + 1 : roc;
}

/** Octets of the RTP header (fixed, CSRCs, extension), or -1 when it does not fit in `length`. */
export function headerLength(buf: Buffer, length: number): number {
  if (length < 12 || buf[0]! >> 6 !== 2) return -1;
  let off = 12 + (buf[0]! & 0x0f) * 4;
  if ((buf[0]! & 0x10) !== 0) {
    if (length < off + 4) return -1;
    off += 4 + ((buf[off + 2]! << 8) | buf[off + 3]!) * 4;
  }
  return off <= length ? off : -1;
}
