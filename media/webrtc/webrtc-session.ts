import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { PeerConnection, Track } from 'node-datachannel';
import { rtpPayloadEnd, rtpPayloadStart, writeRtpHeader } from '../rtp/rtp-packet.js';
import { JitterBuffer } from '../rtp/jitter-buffer.js';
import { DtmfReceiver, dtmfPackets } from '../rtp/dtmf.js';
import type { DtmfDigit } from '../rtp/dtmf.js';
import type { Pacer } from '../pacer.js';
import type { CallMedia, CallMediaStats } from '../call-media.js';

export interface WebRtcSessionOptions {
  port: number;
  payloadType: number;
  telephoneEventPt: number | null;
  /** No RTP for this long (after DTLS is up, or from the start if it never comes up) → 'timeout'. 0: never. */
  timeoutMs: number;
  pacer?: Pacer;
}

export interface WebRtcSessionStats extends CallMediaStats {
  rtcpReceived: number;
  /** Milliseconds from the answer being made to DTLS-SRTP being ready (the track open), once known. */
  connectedMs: number | undefined;
}

/**
 * One browser's media: DTLS-SRTP over ICE (libdatachannel does the handshake, SRTP and the ICE
 * checks on its own threads), with the same face as a carrier's RtpSession. RTP comes out of
 * the track already decrypted, so parsing, the jitter buffer and RFC 4733 are ours, as on a
 * carrier leg; outbound frames go in as RTP and are encrypted on the way out.
 *
 * Events: 'connected' (ms), 'audio', 'dtmf', 'timeout', 'close'.
 */
export class WebRtcSession extends EventEmitter implements CallMedia {
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  #seq = randomBytes(2).readUInt16BE(0);
  #ts = randomBytes(4).readUInt32BE(0);
  readonly #pc: PeerConnection;
  readonly #o: WebRtcSessionOptions;
  readonly #release: () => void;
  readonly #jb: JitterBuffer;
  readonly #dtmf: DtmfReceiver;
  readonly #createdAt = performance.now();
  #track: Track | undefined;
  #open = false;
  #closed = false;
  #timedOut = false;
  #lastRx = Date.now();
  #timer: NodeJS.Timeout | undefined;
  #remote = { address: '', port: 0 };
  #baseSeq = -1;
  #maxSeq = 0;
  #cycles = 0;
  readonly #pkt = Buffer.allocUnsafe(12 + 160);
  readonly stats: WebRtcSessionStats = {
    received: 0, dropped: { malformed: 0, wrongPayloadType: 0, wrongSource: 0 }, lost: 0, sent: 0, rtcpReceived: 0, connectedMs: undefined,
  };

  constructor(pc: PeerConnection, o: WebRtcSessionOptions, release: () => void) {
    super();
    this.#pc = pc;
    this.#o = o;
    this.#release = release;
    this.#jb = new JitterBuffer((p) => this.emit('audio', p), 3);
    this.#dtmf = new DtmfReceiver((d: DtmfDigit) => this.emit('dtmf', d));
    pc.onTrack((track) => this.#attach(track));
    pc.onStateChange((state) => {
      // A browser that closes its tab never says BYE over a dead WebSocket: the transport says it.
      if ((state === 'failed' || state === 'closed') && !this.#closed) this.#timeout();
    });
    if (o.timeoutMs > 0) {
      this.#timer = setInterval(() => {
        if (!this.#timedOut && Date.now() - this.#lastRx >= o.timeoutMs) this.#timeout();
      }, Math.max(50, Math.min(1000, o.timeoutMs / 4)));
    }
  }

  get port(): number {
    return this.#o.port;
  }

  /** Where the browser's media comes from (the selected ICE pair), once connected. */
  get remoteAddress(): { address: string; port: number } {
    return { ...this.#remote };
  }

  /** True once DTLS-SRTP is up and frames can flow. */
  get connected(): boolean {
    return this.#open;
  }

  #attach(track: Track): void {
    if (this.#track) return; // one audio m-line; BUNDLE puts everything on it.
    this.#track = track;
    track.onOpen(() => {
      if (this.#closed) return;
      this.#open = true;
      this.#lastRx = Date.now();
      this.stats.connectedMs = performance.now() - this.#createdAt;
      try {
        const pair = this.#pc.getSelectedCandidatePair();
        if (pair) this.#remote = { address: pair.remote.address, port: pair.remote.port };
      } catch {
        /* the pair is informational */
      }
      this.emit('connected', this.stats.connectedMs);
    });
    track.onMessage((m) => this.#onPacket(m));
    track.onClosed(() => {
      if (!this.#closed) this.#timeout();
    });
  }

  #timeout(): void {
    if (this.#timedOut) return;
    this.#timedOut = true;
    this.emit('timeout');
  }

  #onPacket(m: Buffer): void {
    if (this.#closed) return;
    this.#o.pacer?.poll();
    if (m.length < 12 || m[0]! >> 6 !== 2) return void this.stats.dropped.malformed++;
    // RFC 5761 §4: with rtcp-mux, payload types 64–95 (second byte 192–223) are RTCP.
    // Receiver reports, NACK, PLI, REMB, transport-cc: none changes what we send, so all are read and let go.
    if (m[1]! >= 192 && m[1]! <= 223) return void this.stats.rtcpReceived++;
    const off = rtpPayloadStart(m);
    const end = off < 0 ? -1 : rtpPayloadEnd(m, off);
    if (end < 0) return void this.stats.dropped.malformed++;
    const pt = m[1]! & 0x7f;
    const te = this.#o.telephoneEventPt;
    if (pt !== this.#o.payloadType && pt !== te) return void this.stats.dropped.wrongPayloadType++;
    this.#lastRx = Date.now();
    this.#timedOut = false;
    this.stats.received++;
    const seq = (m[2]! << 8) | m[3]!;
    this.#trackSeq(seq);
    const payload = m.subarray(off, end);
    if (pt === te) {
      const ts = ((m[4]! << 24) | (m[5]! << 16) | (m[6]! << 8) | m[7]!) >>> 0;
      try {
        this.#dtmf.push(ts, payload);
      } catch {
        this.stats.dropped.malformed++;
      }
      return;
    }
    this.#jb.push(seq, payload);
  }

  /** RFC 3550 A.3 cumulative loss, as the RTP session keeps it. */
  #trackSeq(seq: number): void {
    if (this.#baseSeq < 0) {
      this.#baseSeq = seq;
      this.#maxSeq = seq;
    } else if (((seq - this.#maxSeq) & 0xffff) < 3000) {
      if (seq < this.#maxSeq) this.#cycles += 0x10000;
      this.#maxSeq = seq;
    }
    const lost = this.#cycles + this.#maxSeq - this.#baseSeq + 1 - this.stats.received;
    this.stats.lost = lost > 0 ? lost : 0;
  }

  /** PacedSink: every 20 ms from the shared pacer; the timestamp runs on through silence. */
  sendFrame(frame: Buffer | null, marker: boolean): void {
    if (this.#closed) return;
    if (frame && this.#open && this.#track) {
      const pkt = this.#pkt;
      writeRtpHeader(pkt, this.#o.payloadType, marker, this.#seq, this.#ts, this.ssrc);
      if (frame.length === 160) pkt.set(frame, 12);
      else frame.copy(pkt, 12, 0, 160);
      // libdatachannel copies the packet before it encrypts and queues it: one buffer serves every frame.
      if (this.#send(pkt)) {
        this.#seq = (this.#seq + 1) & 0xffff;
        this.stats.sent++;
      }
    }
    this.#ts = (this.#ts + 160) >>> 0;
  }

  #send(pkt: Buffer): boolean {
    try {
      return this.#track!.sendMessageBinary(pkt);
    } catch {
      // The track closed under us (the browser went away): 'timeout' follows from the state change.
      return false;
    }
  }

  /** One RFC 4733 digit, end packet three times (§2.5.1.4), 20 ms apart. */
  async sendDtmf(digit: string, durationMs = 100): Promise<void> {
    const te = this.#o.telephoneEventPt;
    if (te === null || !this.#open) return;
    const start = this.#ts;
    for (const p of dtmfPackets(digit, durationMs)) {
      if (this.#closed) return;
      const b = Buffer.allocUnsafe(16);
      writeRtpHeader(b, te, p.marker, this.#seq, start, this.ssrc);
      p.payload.copy(b, 12);
      if (this.#send(b)) this.#seq = (this.#seq + 1) & 0xffff;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    try {
      this.#track?.close();
      this.#pc.close();
    } catch {
      /* already closed by the peer */
    }
    this.#release();
    this.emit('close');
  }
}
