import nodeDataChannel, { type PeerConnection, type Track } from 'node-datachannel';
import { ReceivedRtp, SentRtp } from './caller-rtp.js';

/**
 * A Node WebRTC caller (libdatachannel, the gateway's own stack) that offers what Chromium offers
 * for audio — Opus first, then PCMU, PCMA, telephone-event — over UDP/TLS/RTP/SAVPF with BUNDLE and
 * rtcp-mux, sends 20 ms µ-law frames and counts what comes back. Used by bench:webrtc and the
 * endpoint's tests.
 */
export class WebRtcPeer {
  readonly #pc: PeerConnection;
  readonly #track: Track;
  readonly #tx = new SentRtp();
  /** Agent RTP received (decrypted), and the time the first one came. */
  readonly #rx = new ReceivedRtp();
  get received(): number { return this.#rx.received; }
  get firstAudioAt(): number | undefined { return this.#rx.firstAudioAt; }
  connectedAt: number | undefined;
  /** When our ICE agent first found a working pair (before DTLS starts). */
  iceConnectedAt: number | undefined;
  /** Sequence numbers of the agent's stream, to count SRTP loss. */
  readonly #whenOpen: Promise<void>;

  constructor(name: string, bindAddress = '127.0.0.1') {
    this.#pc = new nodeDataChannel.PeerConnection(name, { iceServers: [], bindAddress, enableIceUdpMux: false });
    const audio = new nodeDataChannel.Audio('0', 'SendRecv');
    audio.addOpusCodec(111);
    audio.addAudioCodec(0, 'PCMU/8000');
    audio.addAudioCodec(8, 'PCMA/8000');
    audio.addAudioCodec(126, 'telephone-event/8000');
    audio.addSSRC(this.#tx.ssrc, 'warmline-peer', 'stream', 'audio');
    this.#track = this.#pc.addTrack(audio);
    this.#whenOpen = new Promise((resolve) => this.#track.onOpen(() => {
      this.connectedAt = performance.now();
      resolve();
    }));
    this.#track.onMessage((m) => this.#onPacket(m));
    this.#pc.onStateChange((st) => this.states.push(st));
    this.#pc.onIceStateChange((st) => {
      if (st === 'connected' || st === 'completed') this.iceConnectedAt ??= performance.now();
    });
  }

  /** Connection states seen, in order (for diagnostics). */
  readonly states: string[] = [];

  /** Our offer, once host candidates are gathered (no trickle, as sip.js sends it). */
  async offer(): Promise<string> {
    const done = new Promise<void>((resolve) => this.#pc.onGatheringStateChange((s) => s === 'complete' && resolve()));
    this.#pc.setLocalDescription('offer');
    if (this.#pc.gatheringState() !== 'complete') await done;
    return this.#pc.localDescription()!.sdp;
  }

  answer(sdp: string): void {
    this.#pc.setRemoteDescription(sdp, 'answer');
  }

  whenOpen(): Promise<void> {
    return this.#whenOpen;
  }

  #onPacket(m: Buffer): void {
    if (m.length < 12 || (m[1]! >= 192 && m[1]! <= 223)) return;
    if ((m[1]! & 0x7f) !== 0 && (m[1]! & 0x7f) !== 8) return;
    const seq = (m[2]! << 8) | m[3]!;
    this.#rx.note(seq);
  }

  /** Agent packets missing by sequence number (RFC 3550 A.3). */
  get lost(): number { return this.#rx.lost; }

  /** One 20 ms frame of µ-law (PT 0). */
  sendFrame(payload?: Buffer): boolean {
    const pkt = this.#tx.next(payload);
    try {
      return this.#track.sendMessageBinary(pkt);
    } catch {
      return false;
    }
  }

  close(): void {
    try {
      this.#track.close();
      this.#pc.close();
    } catch {
      /* already closed */
    }
  }
}
