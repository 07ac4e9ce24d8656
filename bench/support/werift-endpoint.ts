/**
 * bench:webrtc --stack werift: the gateway's WebRTC media endpoint with werift (pure TypeScript)
 * in place of node-datachannel, behind the same face (answer() → a CallMedia session), so the same
 * gateway, calls, agent and load run with the other stack answering. Bench only: the gateway ships
 * node-datachannel. Same plan as the real endpoint: the offer cut to our G.711 law (+ RFC 4733),
 * its candidates left out (answer-only ICE), the port from the RTP allocator, the DTLS
 * certificate made once at boot.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import type * as Werift from 'werift';
import {
  DtmfReceiver, JitterBuffer, planWebRtcAnswer, writeRtpHeader,
  type CallMediaStats, type DtmfDigit, type Pacer, type SessionDescription, type WebRtcEndpointOptions,
} from '../../media/index.js';

const require = createRequire(import.meta.url);
const werift = require('werift') as typeof Werift;

class WeriftSession extends EventEmitter {
  /** Overwritten by werift's sender with its own (announced in its SDP). */
  readonly ssrc = randomBytes(4).readUInt32BE(0);
  #seq = randomBytes(2).readUInt16BE(0);
  #ts = randomBytes(4).readUInt32BE(0);
  readonly #jb = new JitterBuffer((p) => this.emit('audio', p), 3);
  readonly #dtmf = new DtmfReceiver((d: DtmfDigit) => this.emit('dtmf', d));
  readonly #createdAt = performance.now();
  readonly #pkt = Buffer.allocUnsafe(12 + 160);
  #open = false;
  #closed = false;
  #baseSeq = -1;
  #maxSeq = 0;
  #cycles = 0;
  readonly stats: CallMediaStats & { connectedMs: number | undefined } = {
    received: 0, dropped: { malformed: 0, wrongPayloadType: 0, wrongSource: 0 }, lost: 0, sent: 0, connectedMs: undefined,
  };

  constructor(
    readonly pc: Werift.RTCPeerConnection,
    readonly track: Werift.MediaStreamTrack,
    readonly port: number,
    readonly pt: number,
    readonly te: number | null,
    readonly pacer: Pacer | undefined,
    readonly release: () => void,
  ) {
    super();
    pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected' && !this.#open) {
        this.#open = true;
        this.stats.connectedMs = performance.now() - this.#createdAt;
        this.emit('connected', this.stats.connectedMs);
      } else if ((s === 'failed' || s === 'closed') && !this.#closed) this.emit('timeout');
    });
  }

  get remoteAddress(): { address: string; port: number } {
    return { address: '', port: 0 };
  }

  onRtp(pt: number, seq: number, ts: number, payload: Buffer): void {
    if (this.#closed) return;
    this.pacer?.poll();
    if (pt !== this.pt && pt !== this.te) return void this.stats.dropped.wrongPayloadType++;
    this.stats.received++;
    if (this.#baseSeq < 0) this.#baseSeq = this.#maxSeq = seq;
    else if (((seq - this.#maxSeq) & 0xffff) < 3000) {
      if (seq < this.#maxSeq) this.#cycles += 0x10000;
      this.#maxSeq = seq;
    }
    this.stats.lost = Math.max(0, this.#cycles + this.#maxSeq - this.#baseSeq + 1 - this.stats.received);
    if (pt === this.te) {
      try {
        this.#dtmf.push(ts, payload);
      } catch {
        this.stats.dropped.malformed++;
      }
      return;
    }
    this.#jb.push(seq, payload);
  }

  sendFrame(frame: Buffer | null, marker: boolean): void {
    if (this.#closed) return;
    if (frame && this.#open) {
      writeRtpHeader(this.#pkt, this.pt, marker, this.#seq, this.#ts, this.ssrc);
      frame.copy(this.#pkt, 12, 0, 160);
      try {
        // werift keeps the buffer it is given until the packet is protected: one copy per frame.
        this.track.writeRtp(Buffer.from(this.#pkt));
        this.#seq = (this.#seq + 1) & 0xffff;
        this.stats.sent++;
      } catch {
        /* closed under us: 'timeout' follows from the state change */
      }
    }
    this.#ts = (this.#ts + 160) >>> 0;
  }

  /** Not carried: werift's sender rewrites every packet's payload type to the track's codec. The bench sends no DTMF. */
  async sendDtmf(): Promise<void> {}

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.pc.close().catch(() => undefined);
    this.release();
    this.emit('close');
  }
}

/** Duck-typed WebRtcEndpoint (create/answer/close/fingerprint) on werift. */
export class WeriftEndpoint {
  fingerprint = '';

  private constructor(readonly o: WebRtcEndpointOptions, readonly cert: Werift.RTCCertificate) {}

  static async create(o: WebRtcEndpointOptions): Promise<WeriftEndpoint> {
    return new WeriftEndpoint(o, await werift.RTCDtlsTransport.SetupCertificate());
  }

  async answer(text: string, parsed: SessionDescription, port: number, release: () => void) {
    let plan;
    try {
      plan = planWebRtcAnswer(text, parsed, this.o.codecs ?? ['PCMU', 'PCMA']);
    } catch (err) {
      release();
      throw err;
    }
    const t0 = performance.now();
    const codec = (mimeType: string, payloadType: number) => new werift.RTCRtpCodecParameters({ mimeType, clockRate: 8000, channels: 1, payloadType });
    const te = plan.telephoneEvent?.payloadType ?? null;
    const pc = new werift.RTCPeerConnection({
      codecs: { audio: [codec(`audio/${plan.codec.encoding.toUpperCase()}`, plan.codec.payloadType), ...(te === null ? [] : [codec('audio/telephone-event', te)])], video: [] },
      iceUseIpv4: true,
      iceUseIpv6: false,
      // werift refuses a one-port range; the allocator gives even ports and keeps port + 1 (RTCP) with them.
      icePortRange: [port, port + 1],
      iceInterfaceAddresses: { udp4: this.o.bindAddress },
      iceAdditionalHostAddresses: [this.o.bindAddress],
      certificates: [this.cert],
    });
    const track = new werift.MediaStreamTrack({ kind: 'audio' });
    const session = new WeriftSession(pc, track, port, plan.codec.payloadType, te, this.o.pacer, release);
    // Before the offer goes in: the remote track is announced while it is applied.
    pc.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((rtp) => session.onRtp(rtp.header.payloadType, rtp.header.sequenceNumber, rtp.header.timestamp, rtp.payload)));
    try {
      await pc.setRemoteDescription({ type: 'offer', sdp: plan.offer });
      const tr = pc.getTransceivers()[0]!;
      tr.setDirection('sendrecv');
      await tr.sender.replaceTrack(track);
      await pc.setLocalDescription(await pc.createAnswer());
      const t1 = performance.now();
      if (pc.iceGatheringState !== 'complete') {
        await new Promise<void>((resolve) => pc.iceGatheringStateChange.subscribe((s) => {
          if (s === 'complete') resolve();
        }));
      }
      const t2 = performance.now();
      // werift announces its sender's SSRC itself, and sends every packet with it.
      return { session, sdp: pc.localDescription!.sdp, plan, timings: { createMs: t1 - t0, gatherMs: t2 - t1 } };
    } catch (err) {
      session.close();
      throw err;
    }
  }

  close(): void {
    /* nothing held between calls but the certificate */
  }
}
