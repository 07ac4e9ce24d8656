import { createRequire } from 'node:module';
import { ReceivedRtp, SentRtp } from './caller-rtp.js';
import { dirname, join } from 'node:path';
import type * as Werift from 'werift';

// The CommonJS build, loaded by path: its DTLS transport is then the very module the peer
// connection uses, so a peer can be limited to chosen SRTP profiles (werift has no option for it).
const require = createRequire(import.meta.url);
const werift = require('werift') as typeof Werift;
const dtlsModule = require(join(dirname(require.resolve('werift')), 'transport', 'dtls.js')) as { RTCDtlsTransport: unknown };

/** RFC 5764 §4.1.2 / RFC 7714 §14.2 protection profile numbers, as werift names them. */
export const SRTP_PROFILES = { AES_CM_128_HMAC_SHA1_80: 1, AEAD_AES_128_GCM: 7 } as const;
export type SrtpProfileName = keyof typeof SRTP_PROFILES;

const onlyProfiles = new WeakMap<object, number[]>();
{
  type Ctor = new (config: object, ice: unknown, cert: unknown, profiles?: number[]) => object;
  const Base = dtlsModule.RTCDtlsTransport as Ctor;
  // The peer connection's config object reaches every DTLS transport it makes: a peer built with
  // `srtpProfiles` offers (as DTLS client) or accepts (as server) those and no other.
  dtlsModule.RTCDtlsTransport = class extends Base {
    constructor(config: object, ice: unknown, cert: unknown, profiles?: number[]) {
      super(config, ice, cert, onlyProfiles.get(config) ?? profiles);
    }
  };
}

/**
 * A Node WebRTC caller on werift (pure TypeScript), with WebRtcPeer's face: offers PCMU, PCMA and
 * telephone-event over UDP/TLS/RTP/SAVPF with BUNDLE and rtcp-mux, sends 20 ms µ-law frames and
 * counts what comes back. bench:webrtc --stack werift runs its callers on it; the SRTP tests use
 * `srtpProfiles` to make a caller that speaks one protection profile only.
 */
export class WeriftPeer {
  readonly #pc: Werift.RTCPeerConnection;
  readonly #track: Werift.MediaStreamTrack;
  readonly #tx = new SentRtp();
  readonly #rx = new ReceivedRtp();
  get received(): number { return this.#rx.received; }
  get firstAudioAt(): number | undefined { return this.#rx.firstAudioAt; }
  connectedAt: number | undefined;
  iceConnectedAt: number | undefined;
  readonly #whenOpen: Promise<void>;
  readonly states: string[] = [];

  constructor(o: { srtpProfiles?: readonly SrtpProfileName[] } = {}) {
    const codec = (mimeType: string, payloadType: number) => new werift.RTCRtpCodecParameters({ mimeType, clockRate: 8000, channels: 1, payloadType });
    const config = {
      codecs: { audio: [codec('audio/PCMU', 0), codec('audio/PCMA', 8), codec('audio/telephone-event', 126)], video: [] },
      iceUseIpv4: true,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: [],
    };
    this.#pc = new werift.RTCPeerConnection(config);
    // werift keeps the object it was given as its config (the key the DTLS transport is found by).
    const kept = (this.#pc as unknown as { config: object }).config;
    if (o.srtpProfiles) onlyProfiles.set(kept, o.srtpProfiles.map((p) => SRTP_PROFILES[p]));
    this.#track = new werift.MediaStreamTrack({ kind: 'audio' });
    const tr = this.#pc.addTransceiver(this.#track, { direction: 'sendrecv' });
    tr.onTrack.subscribe((t) => t.onReceiveRtp.subscribe((rtp) => this.#onRtp(rtp.header.payloadType, rtp.header.sequenceNumber)));
    this.#pc.iceConnectionStateChange.subscribe((s) => {
      if (s === 'connected' || s === 'completed') this.iceConnectedAt ??= performance.now();
    });
    this.#whenOpen = new Promise((resolve) => this.#pc.connectionStateChange.subscribe((s) => {
      this.states.push(s);
      if (s === 'connected' && this.connectedAt === undefined) {
        this.connectedAt = performance.now();
        resolve();
      }
    }));
  }

  /** Our offer once host candidates are gathered (no trickle, as sip.js sends it). */
  async offer(): Promise<string> {
    await this.#pc.setLocalDescription(await this.#pc.createOffer());
    if (this.#pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => this.#pc.iceGatheringStateChange.subscribe((s) => {
        if (s === 'complete') resolve();
      }));
    }
    return this.#pc.localDescription!.sdp;
  }

  answer(sdp: string): Promise<void> {
    return this.#pc.setRemoteDescription({ type: 'answer', sdp });
  }

  whenOpen(): Promise<void> {
    return this.#whenOpen;
  }

  /** The SRTP protection profile DTLS settled on (RFC 5764 §4.1.2 number), once connected. */
  get srtpProfile(): number | undefined {
    const dtls = this.#pc.getTransceivers()[0]?.sender.dtlsTransport as unknown as { dtls?: { srtp?: { srtpProfile?: number } } } | undefined;
    return dtls?.dtls?.srtp?.srtpProfile;
  }

  #onRtp(pt: number, seq: number): void {
    if (pt !== 0 && pt !== 8) return;
    this.#rx.note(seq);
  }

  get lost(): number { return this.#rx.lost; }

  /** One 20 ms frame of µ-law (PT 0). */
  sendFrame(payload?: Buffer): boolean {
    if (this.connectedAt === undefined) return false;
    const pkt = this.#tx.next(payload);
    try {
      this.#track.writeRtp(Buffer.from(pkt));
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.#pc.close().catch(() => undefined);
  }
}
