import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { rtpPayloadEnd, rtpPayloadStart, writeRtpHeader } from './rtp-packet.js';
import { RtcpCompound } from './rtcp.js';
import type { RtcpPacket } from './rtcp.js';
import { RtpStatistics, type RtpSessionStats } from './rtp-statistics.js';
import { JitterBuffer } from './jitter-buffer.js';
import { DtmfReceiver, dtmfPackets } from './dtmf.js';
import type { DtmfDigit } from './dtmf.js';
import type { PacedSink, Pacer } from '../pacer.js';
import { SrtpSession, SRTP_AUTH_FAILED, SRTP_REPLAYED, type SrtpSessionKeys } from '../srtp/index.js';

export interface RtpSessionOptions {
  port: number;
  /** '127.0.0.1', '::1', '0.0.0.0', '::' */
  bindAddress: string;
  payloadType: number;
  telephoneEventPt?: number | null;
  remote: { address: string; port: number; rtcpPort?: number };
  /** strict: accept only packets from the SDP's address (no latching to another host) */
  strict?: boolean;
  rtcpIntervalMs?: number;
  timeoutMs?: number;
  jitterDepth?: number;
  cname?: string;
  /** the shared pacer: polled on every inbound packet so sends stay on time under load */
  pacer?: Pacer;
  /** SO_RCVBUF / SO_SNDBUF for the RTP socket; the OS default (~208 KiB) when absent */
  recvBufferSize?: number;
  sendBufferSize?: number;
  /** SDES-SRTP keys (RTP/SAVP): everything sent is protected, everything received must authenticate. */
  srtp?: SrtpSessionKeys | null;
}

export type { RtpSessionStats } from './rtp-statistics.js';

type LookupCallback = (err: Error | null, address: string, family: number) => void;
let lastLiteral = '';
let lastFamily = 4;
/**
 * dgram resolves the destination of every unconnected send through dns.lookup, which for an
 * IP literal still costs a regex, a closure and a process.nextTick per packet (50 a second per
 * call). RTP destinations are IP literals from SDP or from the latched source: answer those at
 * once, remembering the last one checked; anything else (an FQDN in c=) goes to dns.lookup.
 */
function ipLiteralLookup(address: string, family: unknown, cb: LookupCallback): void {
  if (address === lastLiteral) return cb(null, address, lastFamily);
  const f = isIP(address);
  if (f === 0) return void dns.lookup(address, typeof family === 'number' ? family : 0, cb);
  lastLiteral = address;
  lastFamily = f;
  cb(null, address, f);
}

/**
 * One call's RTP/RTCP on an even port (RTCP = port + 1).
 *
 * Symmetric RTP (RFC 4961): we send to the source address/port of the first valid packet, not
 * the SDP's (NATs rewrite ports). Re-latch rule: a new source is adopted when it sends a valid
 * packet with a different SSRC, or when the latched source has been silent for 1 s; in strict
 * mode only the SDP's address is accepted (any port).
 *
 * Events: 'audio' (payload: Buffer | null for a lost frame, seq), 'dtmf' (DtmfDigit),
 * 'timeout' (), 'latched' ({address, port}), 'rtcp' (RtcpPacket[]).
 */
export class RtpSession extends EventEmitter implements PacedSink {
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  private seq = randomBytes(2).readUInt16BE(0);
  // RFC 3550 §5.1: "The initial value of the timestamp SHOULD be random".
  private ts = randomBytes(4).readUInt32BE(0);
  private readonly rtp: dgram.Socket;
  private readonly rtcp: dgram.Socket;
  /**
   * Outbound packets are built in a small ring of preallocated buffers, not one per packet.
   * dgram copies a datagram into the kernel synchronously when it can (uv_udp_try_send); only
   * when the socket's send queue is full does it keep our buffer for later, and a ring of 8 at
   * 20 ms spacing leaves such a packet 140 ms to leave before its buffer is written again.
   */
  private readonly srtp: SrtpSession | null;
  private readonly ring: Buffer[];
  private ringAt = 0;
  private remote: { address: string; port: number; rtcpPort: number };
  private latched: { address: string; port: number; ssrc: number; at: number } | null = null;
  private readonly jb: JitterBuffer;
  private readonly dtmf: DtmfReceiver;
  private rtcpTimer: NodeJS.Timeout | null = null;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private lastRx = 0;
  private timedOut = false;
  private closed = false;
  readonly stats: RtpSessionStats = {
    received: 0, dropped: { malformed: 0, wrongPayloadType: 0, wrongSource: 0, srtpAuth: 0, srtpReplay: 0 }, lost: 0, jitter: 0,
    sent: 0, sentOctets: 0, rtcpReceived: 0, lastRemoteReport: null,
  };
  /** Receiver statistics and RTCP reports (rtp-statistics.ts); the sockets stay here. */
  private readonly rtcpStats = new RtpStatistics(this.stats, this.ssrc);

  private constructor(private readonly o: RtpSessionOptions, private readonly onClose: () => void) {
    super();
    this.srtp = o.srtp ? new SrtpSession(o.srtp) : null;
    // With SRTP each buffer has room for the tag, so protect() works in place and dgram still
    // gets the whole buffer.
    const tag = this.srtp?.rtpOut.overhead ?? 0;
    this.ring = Array.from({ length: 8 }, () => Buffer.allocUnsafe(12 + 160 + tag));
    const type = o.bindAddress.includes(':') ? 'udp6' : 'udp4';
    this.rtp = dgram.createSocket({ type, lookup: ipLiteralLookup });
    this.rtcp = dgram.createSocket({ type, lookup: ipLiteralLookup });
    this.remote = { address: o.remote.address, port: o.remote.port, rtcpPort: o.remote.rtcpPort ?? o.remote.port + 1 };
    this.jb = new JitterBuffer((p, seq) => this.emit('audio', p, seq), o.jitterDepth ?? 3);
    this.dtmf = new DtmfReceiver((d: DtmfDigit) => this.emit('dtmf', d));
    this.rtp.on('message', (m, r) => this.onRtp(m, r));
    this.rtcp.on('message', (m) => this.onRtcp(m));
    this.rtp.on('error', () => undefined);
    this.rtcp.on('error', () => undefined);
  }

  /** Binds both sockets; `release` is called once on close (give the port back). */
  static async open(o: RtpSessionOptions, release: () => void = () => undefined): Promise<RtpSession> {
    const s = new RtpSession(o, release);
    try {
      await Promise.all([
        new Promise<void>((res, rej) => { s.rtp.once('error', rej); s.rtp.bind(o.port, o.bindAddress, () => res()); }),
        new Promise<void>((res, rej) => { s.rtcp.once('error', rej); s.rtcp.bind(o.port + 1, o.bindAddress, () => res()); }),
      ]);
    } catch (e) {
      s.close();
      throw e;
    }
    s.lastRx = Date.now();
    if (o.recvBufferSize) s.rtp.setRecvBufferSize(o.recvBufferSize);
    if (o.sendBufferSize) s.rtp.setSendBufferSize(o.sendBufferSize);
    if (o.rtcpIntervalMs !== 0) s.scheduleReport(o.rtcpIntervalMs ?? 5000);
    if (o.timeoutMs) {
      s.timeoutTimer = setInterval(() => {
        if (!s.timedOut && Date.now() - s.lastRx >= o.timeoutMs!) {
          s.timedOut = true;
          s.emit('timeout');
        }
      }, Math.max(50, Math.min(1000, o.timeoutMs / 4)));
    }
    return s;
  }

  /** The local RTP port (RTCP is port + 1). */
  get port(): number {
    return this.o.port;
  }

  get remoteAddress(): { address: string; port: number } {
    return { address: this.remote.address, port: this.remote.port };
  }

  /**
   * New SDES keys after a re-INVITE. Only a direction whose key changed gets a new context; a
   * session opened without SRTP stays plain (a change of transport needs a new session).
   */
  rekey(keys: SrtpSessionKeys): void {
    this.srtp?.rekey(keys);
  }

  private onRtp(m: Buffer, r: dgram.RemoteInfo): void {
    if (this.closed) return;
    this.o.pacer?.poll();
    if (this.srtp) {
      // Authenticate before anything else looks at the packet: no latching, statistics or
      // playout for what did not authenticate (RFC 3711 §3.3 step 5).
      const n = this.srtp.rtpIn.unprotect(m);
      if (n < 0) {
        this.countSrtpDrop(n);
        return;
      }
      m = m.subarray(0, n);
    }
    // Hot path: validate in place instead of building an RtpPacket per datagram.
    const off = rtpPayloadStart(m);
    const end = off < 0 ? -1 : rtpPayloadEnd(m, off);
    if (end < 0) return void this.stats.dropped.malformed++;
    const pt = m[1]! & 0x7f;
    const te = this.o.telephoneEventPt ?? null;
    if (pt !== this.o.payloadType && pt !== te) return void this.stats.dropped.wrongPayloadType++;
    if (this.o.strict && r.address !== this.o.remote.address) return void this.stats.dropped.wrongSource++;
    // Plain byte loads (length is checked above): readUInt*BE range-check on every call.
    const ssrc = ((m[8]! << 24) | (m[9]! << 16) | (m[10]! << 8) | m[11]!) >>> 0;
    const now = Date.now();
    const l = this.latched;
    if (!l || l.address !== r.address || l.port !== r.port) {
      if (l && l.ssrc === ssrc && now - l.at < 1000) return void this.stats.dropped.wrongSource++;
      this.latched = { address: r.address, port: r.port, ssrc, at: now };
      this.remote = { address: r.address, port: r.port, rtcpPort: r.port + 1 };
      this.emit('latched', { address: r.address, port: r.port });
    } else l.at = now;
    this.lastRx = now;
    this.timedOut = false;
    this.stats.received++;
    const seq = (m[2]! << 8) | m[3]!;
    const ts = ((m[4]! << 24) | (m[5]! << 16) | (m[6]! << 8) | m[7]!) >>> 0;
    this.rtcpStats.track(seq, ts, now);
    const payload = m.subarray(off, end);
    if (pt === te) {
      try {
        this.dtmf.push(ts, payload);
      } catch {
        this.stats.dropped.malformed++;
      }
      return;
    }
    this.jb.push(seq, payload);
  }

  /**
   * RFC 3550 §6.3.1: the interval is randomised to [0.5, 1.5] × T "to avoid unintended
   * synchronization of all participants". Here it matters inside one process too: calls set up
   * together would otherwise all build and send their reports in the same millisecond, a
   * multi-millisecond stall for the shared pacer every T at a thousand calls.
   */
  private scheduleReport(intervalMs: number): void {
    this.rtcpTimer = setTimeout(() => {
      this.sendReport();
      if (!this.closed) this.scheduleReport(intervalMs);
    }, intervalMs * (0.5 + Math.random()));
  }

  /** Sends an SR (if we have sent) or RR, plus SDES CNAME. */
  sendReport(): void {
    if (this.closed) return;
    const plain = this.rtcpStats.report(this.latched?.ssrc ?? null, this.ts, this.o.cname ?? 'warmline');
    const buf = this.srtp ? this.srtp.rtcpOut.protect(plain) : plain;
    if (buf) this.rtcp.send(buf, this.remote.rtcpPort, this.remote.address);
  }

  private countSrtpDrop(reason: number): void {
    const d = this.stats.dropped;
    if (reason === SRTP_AUTH_FAILED) d.srtpAuth = (d.srtpAuth ?? 0) + 1;
    else if (reason === SRTP_REPLAYED) d.srtpReplay = (d.srtpReplay ?? 0) + 1;
    else d.malformed++;
  }

  private onRtcp(m: Buffer): void {
    if (this.closed) return;
    if (this.srtp) {
      const n = this.srtp.rtcpIn.unprotect(m);
      if (n < 0) {
        this.countSrtpDrop(n);
        return;
      }
      m = m.subarray(0, n);
    }
    let pkts: RtcpPacket[];
    try {
      pkts = RtcpCompound.deSerialize(m);
    } catch {
      this.stats.dropped.malformed++;
      return;
    }
    this.rtcpStats.absorb(pkts);
    this.emit('rtcp', pkts);
  }

  /**
   * PacedSink: called by the shared pacer every 20 ms. The timestamp advances by 160 even when
   * nothing is sent, so a pause keeps the clock continuous and the next talkspurt's marker
   * (set by the pacer) tells the receiver to resync its playout.
   */
  sendFrame(frame: Buffer | null, marker: boolean): void {
    if (this.closed) return;
    if (frame) {
      const pkt = this.ring[this.ringAt]!;
      this.ringAt = (this.ringAt + 1) & 7;
      writeRtpHeader(pkt, this.o.payloadType, marker, this.seq, this.ts, this.ssrc);
      // TypedArray#set, not Buffer#copy: the same memcpy without Buffer's argument checks,
      // once per frame per call.
      if (frame.length === 160) pkt.set(frame, 12);
      else frame.copy(pkt, 12, 0, 160);
      this.srtp?.rtpOut.protect(pkt, 172);
      // The whole buffer, no offset/length: that form makes dgram slice a new Buffer per send.
      this.rtp.send(pkt, this.remote.port, this.remote.address);
      this.seq = (this.seq + 1) & 0xffff;
      this.stats.sent++;
      this.stats.sentOctets += 160;
    }
    this.ts = (this.ts + 160) >>> 0;
  }

  /** Sends one RFC 4733 digit now (events at 20 ms spacing; all share the start timestamp). */
  async sendDtmf(digit: string, durationMs = 100): Promise<void> {
    const te = this.o.telephoneEventPt;
    if (te === null || te === undefined) return;
    const pk = dtmfPackets(digit, durationMs);
    const start = this.ts;
    for (const p of pk) {
      if (this.closed) return;
      const b = Buffer.allocUnsafe(16 + (this.srtp?.rtpOut.overhead ?? 0));
      writeRtpHeader(b, te, p.marker, this.seq, start, this.ssrc);
      p.payload.copy(b, 12);
      this.srtp?.rtpOut.protect(b, 16);
      this.rtp.send(b, this.remote.port, this.remote.address);
      this.seq = (this.seq + 1) & 0xffff;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get jitterStats(): JitterBuffer['stats'] {
    return this.jb.stats;
  }

  /** Idempotent: closes both sockets, stops timers, releases the port once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.rtcpTimer) clearTimeout(this.rtcpTimer);
    if (this.timeoutTimer) clearInterval(this.timeoutTimer);
    for (const s of [this.rtp, this.rtcp]) {
      try {
        s.close();
      } catch {
        /* never bound */
      }
    }
    this.onClose();
    this.emit('close');
  }
}
