import { MediaError } from '../errors.js';

/**
 * RFC 3550 §6.4.1 SR / §6.4.2 RR / §6.5 SDES / §6.6 BYE. Common header:
 *  0                   1                   2                   3
 * |V=2|P|    RC   |   PT=SR=200   |             length            |
 * "length: The length of this RTCP packet in 32-bit words minus one, including the
 *  header and any padding."
 */
export interface ReportBlock {
  ssrc: number;
  fractionLost: number; // 0..255
  packetsLost: number; // signed 24-bit
  highestSeq: number;
  jitter: number;
  lsr: number;
  dlsr: number;
}

export class RtcpSenderReport {
  static readonly type = 200;
  constructor(
    public ssrc: number,
    public ntpSec: number,
    public ntpFrac: number,
    public rtpTimestamp: number,
    public packetCount: number,
    public octetCount: number,
    public reports: ReportBlock[] = [],
  ) {}
}

export class RtcpReceiverReport {
  static readonly type = 201;
  constructor(public ssrc: number, public reports: ReportBlock[] = []) {}
}

export interface SdesChunk {
  ssrc: number;
  items: { type: number; text: string }[];
}
export class RtcpSourceDescription {
  static readonly type = 202;
  constructor(public chunks: SdesChunk[]) {}
}

export class RtcpBye {
  static readonly type = 203;
  constructor(public sources: number[], public reason?: string) {}
}

export type RtcpPacket = RtcpSenderReport | RtcpReceiverReport | RtcpSourceDescription | RtcpBye;

const bad = (why: string, ctx: Record<string, unknown> = {}): never => {
  throw new MediaError('MEDIA_ERR_RTCP_MALFORMED', why, ctx);
};

function readBlock(b: Buffer, o: number): ReportBlock {
  const lost = b.readUIntBE(o + 5, 3);
  return {
    ssrc: b.readUInt32BE(o),
    fractionLost: b[o + 4]!,
    packetsLost: lost & 0x800000 ? lost - 0x1000000 : lost,
    highestSeq: b.readUInt32BE(o + 8),
    jitter: b.readUInt32BE(o + 12),
    lsr: b.readUInt32BE(o + 16),
    dlsr: b.readUInt32BE(o + 20),
  };
}

function writeBlock(b: Buffer, o: number, r: ReportBlock): void {
  b.writeUInt32BE(r.ssrc >>> 0, o);
  b[o + 4] = r.fractionLost & 0xff;
  const lost = Math.max(-0x800000, Math.min(0x7fffff, r.packetsLost));
  b.writeUIntBE(lost < 0 ? lost + 0x1000000 : lost, o + 5, 3);
  b.writeUInt32BE(r.highestSeq >>> 0, o + 8);
  b.writeUInt32BE(r.jitter >>> 0, o + 12);
  b.writeUInt32BE(r.lsr >>> 0, o + 16);
  b.writeUInt32BE(r.dlsr >>> 0, o + 20);
}

export const RtcpCompound = {
  /** Parses a compound packet; throws MEDIA_ERR_RTCP_MALFORMED. Unknown types (APP, XR) are skipped. */
  deSerialize(buf: Buffer): RtcpPacket[] {
    const out: RtcpPacket[] = [];
    let o = 0;
    if (buf.length < 4) bad('shorter than an RTCP header', { length: buf.length });
    while (o < buf.length) {
      if (buf.length - o < 4) bad('trailing octets after last packet', { offset: o });
      const b0 = buf[o]!;
      if (b0 >> 6 !== 2) bad(`version ${b0 >> 6}, expected 2`, { offset: o });
      const count = b0 & 0x1f;
      const pt = buf[o + 1]!;
      const len = (buf.readUInt16BE(o + 2) + 1) * 4;
      if (o + len > buf.length) bad('length runs past the end', { offset: o, len });
      let end = o + len;
      if (b0 & 0x20) {
        const pad = buf[end - 1]!;
        if (pad === 0 || pad > len - 4) bad(`padding count ${pad} invalid`, { offset: o });
        end -= pad;
      }
      const body = o + 4;
      switch (pt) {
        case 200: {
          if (end - body < 24 + count * 24) bad('SR shorter than its report count', { count });
          const reports: ReportBlock[] = [];
          for (let i = 0; i < count; i++) reports.push(readBlock(buf, body + 24 + i * 24));
          out.push(new RtcpSenderReport(buf.readUInt32BE(body), buf.readUInt32BE(body + 4), buf.readUInt32BE(body + 8),
            buf.readUInt32BE(body + 12), buf.readUInt32BE(body + 16), buf.readUInt32BE(body + 20), reports));
          break;
        }
        case 201: {
          if (end - body < 4 + count * 24) bad('RR shorter than its report count', { count });
          const reports: ReportBlock[] = [];
          for (let i = 0; i < count; i++) reports.push(readBlock(buf, body + 4 + i * 24));
          out.push(new RtcpReceiverReport(buf.readUInt32BE(body), reports));
          break;
        }
        case 202: {
          const chunks: SdesChunk[] = [];
          let p = body;
          for (let i = 0; i < count; i++) {
            if (end - p < 4) bad('SDES chunk runs past the end');
            const chunk: SdesChunk = { ssrc: buf.readUInt32BE(p), items: [] };
            p += 4;
            for (;;) {
              if (p >= end) bad('SDES item list not terminated');
              const type = buf[p]!;
              if (type === 0) break;
              if (p + 2 > end) bad('SDES item runs past the end');
              const l = buf[p + 1]!;
              if (p + 2 + l > end) bad('SDES item runs past the end');
              chunk.items.push({ type, text: buf.toString('utf8', p + 2, p + 2 + l) });
              p += 2 + l;
            }
            // §6.5: the null item list terminator is followed by padding to a 32-bit boundary.
            p = (p - body + 4) & ~3;
            p += body;
            chunks.push(chunk);
          }
          out.push(new RtcpSourceDescription(chunks));
          break;
        }
        case 203: {
          if (end - body < count * 4) bad('BYE shorter than its source count', { count });
          const sources: number[] = [];
          for (let i = 0; i < count; i++) sources.push(buf.readUInt32BE(body + i * 4));
          let reason: string | undefined;
          const r = body + count * 4;
          if (r < end) {
            const l = buf[r]!;
            if (r + 1 + l > end) bad('BYE reason runs past the end');
            reason = buf.toString('utf8', r + 1, r + 1 + l);
          }
          out.push(new RtcpBye(sources, reason));
          break;
        }
        default:
          break;
      }
      o += len;
    }
    return out;
  },

  serialize(packets: RtcpPacket[]): Buffer {
    return Buffer.concat(packets.map(serializeOne));
  },
};

function header(count: number, pt: number, bodyLen: number): Buffer {
  const total = 4 + ((bodyLen + 3) & ~3);
  const b = Buffer.alloc(total);
  b[0] = 0x80 | (count & 0x1f);
  b[1] = pt;
  b.writeUInt16BE(total / 4 - 1, 2);
  return b;
}

function serializeOne(p: RtcpPacket): Buffer {
  if (p instanceof RtcpSenderReport) {
    const b = header(p.reports.length, 200, 24 + p.reports.length * 24);
    b.writeUInt32BE(p.ssrc >>> 0, 4);
    b.writeUInt32BE(p.ntpSec >>> 0, 8);
    b.writeUInt32BE(p.ntpFrac >>> 0, 12);
    b.writeUInt32BE(p.rtpTimestamp >>> 0, 16);
    b.writeUInt32BE(p.packetCount >>> 0, 20);
    b.writeUInt32BE(p.octetCount >>> 0, 24);
    p.reports.forEach((r, i) => writeBlock(b, 28 + i * 24, r));
    return b;
  }
  if (p instanceof RtcpReceiverReport) {
    const b = header(p.reports.length, 201, 4 + p.reports.length * 24);
    b.writeUInt32BE(p.ssrc >>> 0, 4);
    p.reports.forEach((r, i) => writeBlock(b, 8 + i * 24, r));
    return b;
  }
  if (p instanceof RtcpSourceDescription) {
    const parts: Buffer[] = [];
    for (const c of p.chunks) {
      const items = c.items.map((it) => {
        const t = Buffer.from(it.text, 'utf8').subarray(0, 255);
        return Buffer.concat([Buffer.from([it.type, t.length]), t]);
      });
      const raw = Buffer.concat([Buffer.alloc(4), ...items, Buffer.from([0])]);
      raw.writeUInt32BE(c.ssrc >>> 0, 0);
      const padded = Buffer.alloc((raw.length + 3) & ~3);
      raw.copy(padded);
      parts.push(padded);
    }
    const body = Buffer.concat(parts);
    const b = header(p.chunks.length, 202, body.length);
    body.copy(b, 4);
    return b;
  }
  const reason = p.reason === undefined ? null : Buffer.from(p.reason, 'utf8').subarray(0, 255);
  const b = header(p.sources.length, 203, p.sources.length * 4 + (reason ? 1 + reason.length : 0));
  p.sources.forEach((s, i) => b.writeUInt32BE(s >>> 0, 4 + i * 4));
  if (reason) {
    b[4 + p.sources.length * 4] = reason.length;
    reason.copy(b, 5 + p.sources.length * 4);
  }
  return b;
}

/** 64-bit NTP timestamp for a wall-clock time in ms (RFC 3550 §4). */
export function ntpFromMs(ms: number): { sec: number; frac: number } {
  const s = ms / 1000 + 2208988800;
  const sec = Math.floor(s);
  return { sec: sec >>> 0, frac: Math.floor((s - sec) * 0x100000000) >>> 0 };
}

/** The middle 32 bits of an NTP timestamp — what LSR carries (§6.4.1). */
export const ntpMiddle = (sec: number, frac: number): number => (((sec & 0xffff) << 16) | (frac >>> 16)) >>> 0;
