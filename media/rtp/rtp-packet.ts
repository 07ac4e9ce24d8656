import { MediaError } from '../errors.js';

/**
 * RFC 3550 §5.1 fixed header:
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export interface RtpExtension {
  profile: number;
  data: Buffer;
}

export class RtpPacket {
  constructor(
    public payloadType: number,
    public sequenceNumber: number,
    public timestamp: number,
    public ssrc: number,
    public payload: Buffer,
    public marker = false,
    public csrc: number[] = [],
    public extension: RtpExtension | null = null,
    /** Padding octets count (including the count octet); 0 = none. */
    public padding = 0,
  ) {}

  static readonly HEADER_SIZE = 12;

  /** Throws MEDIA_ERR_RTP_MALFORMED for anything RFC 3550 §A.1 says a receiver must reject. */
  static deSerialize(buf: Buffer): RtpPacket {
    const bad = (why: string): never => {
      throw new MediaError('MEDIA_ERR_RTP_MALFORMED', why, { length: buf.length });
    };
    if (buf.length < 12) bad('shorter than the 12-octet fixed header');
    const b0 = buf[0]!;
    if (b0 >> 6 !== 2) bad(`version ${b0 >> 6}, expected 2`);
    const hasPadding = (b0 & 0x20) !== 0;
    const hasExt = (b0 & 0x10) !== 0;
    const cc = b0 & 0x0f;
    const b1 = buf[1]!;
    let off = 12 + cc * 4;
    if (buf.length < off) bad('CSRC list runs past the end');
    const csrc: number[] = [];
    for (let i = 0; i < cc; i++) csrc.push(buf.readUInt32BE(12 + i * 4));
    let extension: RtpExtension | null = null;
    if (hasExt) {
      if (buf.length < off + 4) bad('extension header runs past the end');
      const profile = buf.readUInt16BE(off);
      const words = buf.readUInt16BE(off + 2);
      const end = off + 4 + words * 4;
      if (buf.length < end) bad('extension length runs past the end');
      extension = { profile, data: Buffer.from(buf.subarray(off + 4, end)) };
      off = end;
    }
    let end = buf.length;
    let padding = 0;
    if (hasPadding) {
      // §5.1: "The last octet of the padding contains a count of how many padding octets
      // should be ignored, including itself."
      padding = buf[buf.length - 1]!;
      if (padding === 0 || buf.length - padding < off) bad(`padding count ${padding} invalid`);
      end -= padding;
    }
    return new RtpPacket(
      b1 & 0x7f,
      buf.readUInt16BE(2),
      buf.readUInt32BE(4),
      buf.readUInt32BE(8),
      Buffer.from(buf.subarray(off, end)),
      (b1 & 0x80) !== 0,
      csrc,
      extension,
      padding,
    );
  }

  get serializeSize(): number {
    return 12 + this.csrc.length * 4 + (this.extension ? 4 + this.extension.data.length : 0) + this.payload.length + this.padding;
  }

  serialize(): Buffer {
    const out = Buffer.alloc(this.serializeSize);
    this.serializeInto(out, 0);
    return out;
  }

  serializeInto(out: Buffer, at: number): number {
    if (this.extension && this.extension.data.length % 4 !== 0) {
      throw new MediaError('MEDIA_ERR_RTP_MALFORMED', 'extension data must be a multiple of 4 octets');
    }
    out[at] = 0x80 | (this.padding ? 0x20 : 0) | (this.extension ? 0x10 : 0) | (this.csrc.length & 0x0f);
    out[at + 1] = (this.marker ? 0x80 : 0) | (this.payloadType & 0x7f);
    out.writeUInt16BE(this.sequenceNumber & 0xffff, at + 2);
    out.writeUInt32BE(this.timestamp >>> 0, at + 4);
    out.writeUInt32BE(this.ssrc >>> 0, at + 8);
    let off = at + 12;
    for (const c of this.csrc) {
      out.writeUInt32BE(c >>> 0, off);
      off += 4;
    }
    if (this.extension) {
      out.writeUInt16BE(this.extension.profile, off);
      out.writeUInt16BE(this.extension.data.length / 4, off + 2);
      this.extension.data.copy(out, off + 4);
      off += 4 + this.extension.data.length;
    }
    this.payload.copy(out, off);
    off += this.payload.length;
    if (this.padding) {
      out.fill(0, off, off + this.padding - 1);
      out[off + this.padding - 1] = this.padding;
      off += this.padding;
    }
    return off - at;
  }
}

/**
 * Writes a plain 12-octet header into a caller-owned buffer: the pacer's hot path
 * (50 packets a second per call) reuses one buffer instead of allocating a packet object.
 */
export function writeRtpHeader(out: Buffer, pt: number, marker: boolean, seq: number, ts: number, ssrc: number): void {
  // Plain byte stores: writeUInt16BE/32BE range-check every call, and this runs per packet.
  out[0] = 0x80;
  out[1] = (marker ? 0x80 : 0) | (pt & 0x7f);
  out[2] = (seq >>> 8) & 0xff;
  out[3] = seq & 0xff;
  out[4] = ts >>> 24;
  out[5] = (ts >>> 16) & 0xff;
  out[6] = (ts >>> 8) & 0xff;
  out[7] = ts & 0xff;
  out[8] = ssrc >>> 24;
  out[9] = (ssrc >>> 16) & 0xff;
  out[10] = (ssrc >>> 8) & 0xff;
  out[11] = ssrc & 0xff;
}

/**
 * Where an RTP packet's payload starts, validated in place (the receive paths build no RtpPacket
 * per datagram): after the fixed header, the CSRCs and any header extension. -1: not version 2,
 * or truncated.
 */
export function rtpPayloadStart(m: Buffer): number {
  if (m.length < 12 || m[0]! >> 6 !== 2) return -1;
  let off = 12 + (m[0]! & 0x0f) * 4;
  if (m[0]! & 0x10) {
    if (m.length < off + 4) return -1;
    off += 4 + m.readUInt16BE(off + 2) * 4;
  }
  return off;
}

/** Where the payload ends once padding is removed (RFC 3550 §5.1: a pad count of 0 is invalid); -1: malformed. */
export function rtpPayloadEnd(m: Buffer, start: number): number {
  let end = m.length;
  if (m[0]! & 0x20) {
    const pad = m[m.length - 1]!;
    if (pad === 0) return -1;
    end -= pad;
  }
  return end < start ? -1 : end;
}
