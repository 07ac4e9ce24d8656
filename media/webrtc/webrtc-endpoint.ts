import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';
import { MediaError } from '../errors.js';
import type { Pacer } from '../pacer.js';
import type { SessionDescription } from '../sdp/session-description.js';
import { addHostCandidate, addSsrc, planWebRtcAnswer, type WebRtcOfferPlan } from '../sdp/webrtc-offer.js';
import { WebRtcSession } from './webrtc-session.js';

type NodeDataChannel = typeof import('node-datachannel').default;

export interface WebRtcEndpointOptions {
  /** Address the ICE/DTLS/SRTP sockets bind to (media.host). */
  bindAddress: string;
  /** Also offered as a host candidate (1:1 NAT), when set. */
  publicAddress?: string;
  codecs?: readonly ('PCMU' | 'PCMA')[];
  timeoutMs?: number;
  pacer?: Pacer;
  /** Bound on waiting for our own host candidate. Default 5 s. */
  gatherTimeoutMs?: number;
  /**
   * Check the browser's candidates at once and answer DTLS passive (saves libjuice's 50 ms
   * triggered check per setup). Off: answer-only ICE, DTLS active, safe with any offerer; on:
   * for browsers only — a libdatachannel offerer starts DTLS before it holds our answer and fails.
   * The default for answers that do not choose (answer()'s `fullIce`).
   */
  fullIce?: boolean;
}

export interface WebRtcAnswer {
  session: WebRtcSession;
  sdp: string;
  plan: WebRtcOfferPlan;
  /** Where answer() spent its time (ms): the peer connection made and the offer applied, then waiting for our candidate. */
  timings: { createMs: number; gatherMs: number };
}

/**
 * The WebRTC side of the gateway (node-datachannel, i.e. libdatachannel: ICE, DTLS 1.2,
 * SRTP with AES_CM_128_HMAC_SHA1_80 or AEAD_AES_128_GCM, rtcp-mux, BUNDLE).
 *
 * Warm, like the rest: the DTLS certificate (ECDSA P-256, RFC 8827 §6.5) is made once here at
 * boot and every call's peer connection loads it, instead of generating a key per call. Each call
 * binds the one port the RTP port allocator gave it, so a browser leg counts against the same
 * range as a carrier leg.
 */
export class WebRtcEndpoint {
  readonly fingerprint: string;
  readonly #o: WebRtcEndpointOptions;
  readonly #dir: string;
  readonly #certFile: string;
  readonly #keyFile: string;
  readonly #ndc: NodeDataChannel;
  #seq = 0;
  #closed = false;

  private constructor(o: WebRtcEndpointOptions, pem: { cert: string; private: string }, ndc: NodeDataChannel) {
    this.#o = o;
    this.#ndc = ndc;
    this.#dir = mkdtempSync(join(tmpdir(), 'warmline-dtls-'));
    this.#certFile = join(this.#dir, 'cert.pem');
    this.#keyFile = join(this.#dir, 'key.pem');
    writeFileSync(this.#certFile, pem.cert, { mode: 0o600 });
    writeFileSync(this.#keyFile, pem.private, { mode: 0o600 });
    this.fingerprint = `sha-256 ${new X509Certificate(pem.cert).fingerprint256}`;
  }

  static async create(o: WebRtcEndpointOptions): Promise<WebRtcEndpoint> {
    // The native library is loaded here, not at import: a gateway's start does not wait for it.
    const [pem, ndc] = await Promise.all([
      generate([{ name: 'commonName', value: 'warmline' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' }),
      import('node-datachannel').then((m) => m.default),
    ]);
    return new WebRtcEndpoint(o, pem, ndc);
  }

  /**
   * Answers a browser's offer on `port` (from the RTP port allocator; `release` gives it back when
   * the session closes). Throws MEDIA_ERR_SDP_NO_COMMON_CODEC / MEDIA_ERR_SDP_MALFORMED for an offer
   * we cannot take (→ 488), MEDIA_ERR_WEBRTC_NO_CANDIDATE when the port could not be bound.
   */
  async answer(text: string, parsed: SessionDescription, port: number, release: () => void, fullIce = this.#o.fullIce ?? false): Promise<WebRtcAnswer> {
    if (this.#closed) throw new MediaError('MEDIA_ERR_WEBRTC_NO_CANDIDATE', 'the WebRTC endpoint is closed', {});
    let plan: WebRtcOfferPlan;
    try {
      plan = planWebRtcAnswer(text, parsed, this.#o.codecs ?? ['PCMU', 'PCMA'], fullIce, /^(127\.|::1$)/.test(this.#o.bindAddress ?? ''));
    } catch (err) {
      release();
      throw err;
    }
    const t0 = performance.now();
    const pc = new this.#ndc.PeerConnection(`warmline-${++this.#seq}`, {
      iceServers: [],
      bindAddress: this.#o.bindAddress,
      portRangeBegin: port,
      portRangeEnd: port,
      enableIceUdpMux: false,
      certificatePemFile: this.#certFile,
      keyPemFile: this.#keyFile,
    });
    const session = new WebRtcSession(pc, {
      port,
      payloadType: plan.codec.payloadType,
      telephoneEventPt: plan.telephoneEvent?.payloadType ?? null,
      timeoutMs: this.#o.timeoutMs ?? 0,
      ...(this.#o.pacer && { pacer: this.#o.pacer }),
    }, release);
    let timer: NodeJS.Timeout | undefined;
    try {
      const gatherMs = this.#o.gatherTimeoutMs ?? 5000;
      // Registered before the offer goes in: host candidates on loopback are gathered at once.
      const gathered = new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => reject(new MediaError('MEDIA_ERR_WEBRTC_NO_CANDIDATE', `no ICE host candidate on port ${port} within ${gatherMs} ms`, { port })), gatherMs);
        pc.onGatheringStateChange((s) => {
          if (s === 'complete') resolve();
        });
      });
      gathered.catch(() => undefined);
      pc.setRemoteDescription(plan.offer, 'offer');
      const t1 = performance.now();
      if (pc.gatheringState() !== 'complete') await gathered;
      const t2 = performance.now();
      clearTimeout(timer);
      let sdp = pc.localDescription()?.sdp ?? '';
      if (!/^a=candidate:/m.test(sdp)) {
        throw new MediaError('MEDIA_ERR_WEBRTC_NO_CANDIDATE', `could not bind ${this.#o.bindAddress}:${port} for ICE`, { port });
      }
      if (this.#o.publicAddress) sdp = addHostCandidate(sdp, this.#o.publicAddress, port);
      sdp = addSsrc(sdp, session.ssrc, `warmline-${this.#seq}`);
      return { session, sdp, plan, timings: { createMs: t1 - t0, gatherMs: t2 - t1 } };
    } catch (err) {
      clearTimeout(timer);
      session.close();
      if (err instanceof MediaError) throw err;
      throw new MediaError('MEDIA_ERR_SDP_MALFORMED', `the WebRTC stack refused the offer: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
