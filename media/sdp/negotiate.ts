import { MediaError } from '../errors.js';
import type { Direction, RtpMap, SessionDescription } from './session-description.js';
import { buildSdp } from './session-description.js';
import { acceptAnswerSrtp, answerSrtp, offerCrypto, type NegotiatedSrtp, type SrtpOptions } from './srtp-negotiation.js';
import { formatCryptoAttribute } from './crypto-attribute.js';
import type { SrtpKeyingMaterial } from '../srtp/index.js';

export interface LocalMedia {
  address: string;
  port: number;
  /** preference order; default PCMU then PCMA */
  codecs?: ('PCMU' | 'PCMA')[];
  /** our own wish, e.g. 'sendonly' when we put the peer on hold */
  direction?: Direction;
  username?: string;
  /** The trunk's SDES-SRTP policy; absent: `offered` (SAVP offers get SRTP, AVP offers plain RTP). */
  srtp?: SrtpOptions;
}

export interface Negotiated {
  codec: RtpMap;
  telephoneEvent: RtpMap | null;
  /** where to send RTP (SDP's address; symmetric RTP may re-latch) */
  remoteAddress: string;
  remotePort: number;
  remoteRtcpPort: number;
  direction: Direction;
  ptime: number;
  /** SDES-SRTP keys when the stream is RTP/SAVP; null for plain RTP. */
  srtp?: NegotiatedSrtp | null;
}

/** RFC 3264 §6.1: the answer's direction mirrors the offer's. */
function answerDirection(offer: Direction, ours: Direction): Direction {
  const peerSends = offer === 'sendrecv' || offer === 'sendonly';
  const peerRecvs = offer === 'sendrecv' || offer === 'recvonly';
  const weSend = peerRecvs && (ours === 'sendrecv' || ours === 'sendonly');
  const weRecv = peerSends && (ours === 'sendrecv' || ours === 'recvonly');
  return weSend && weRecv ? 'sendrecv' : weSend ? 'sendonly' : weRecv ? 'recvonly' : 'inactive';
}

const WELL_KNOWN: Record<string, number> = { PCMU: 0, PCMA: 8 };

/**
 * One call's offer/answer state: answers offers (initial and re-INVITE) and builds offers,
 * incrementing the o= session version whenever our description changes (RFC 3264 §8).
 */
export class SdpNegotiator {
  readonly sessionId = String(Math.floor(Math.random() * 1e12));
  private version = 0;
  private lastBody: string | null = null;
  current: Negotiated | null = null;
  /** Crypto lines of our last offer by tag, until its answer arrives. */
  #offeredKeys = new Map<number, SrtpKeyingMaterial>();

  constructor(private readonly local: LocalMedia) {}

  /**
   * Throws MEDIA_ERR_SDP_NO_COMMON_CODEC, MEDIA_ERR_SDP_NO_COMMON_CRYPTO or
   * MEDIA_ERR_SDP_SRTP_POLICY (the SIP layer answers 488 Not Acceptable Here).
   */
  answer(offer: SessionDescription, direction: Direction = this.local.direction ?? 'sendrecv'): { sdp: string; negotiated: Negotiated } {
    const a = offer.audio;
    if (!a || a.port === 0) throw new MediaError('MEDIA_ERR_SDP_NO_COMMON_CODEC', 'offer has no audio stream', {});
    if (!/^RTP\/(S)?AVP/.test(a.proto)) {
      throw new MediaError('MEDIA_ERR_SDP_NO_COMMON_CODEC', `unsupported transport ${a.proto}`, { proto: a.proto });
    }
    // Before codecs: never answer RTP/SAVP without a=crypto (RFC 4568 §7.1.2).
    const srtp = answerSrtp(a, this.#srtpOptions, this.current?.srtp ?? null);
    if (this.current && (this.current.srtp ?? null) === null && srtp !== null) {
      // The RTP session was opened plain; switching it to SRTP mid-call is not supported.
      throw new MediaError('MEDIA_ERR_SDP_SRTP_POLICY', `re-offer switches the call from RTP/AVP to ${a.proto}`, { proto: a.proto });
    }
    if (this.current?.srtp && srtp === null) {
      throw new MediaError('MEDIA_ERR_SDP_SRTP_POLICY', `re-offer switches the call from RTP/SAVP to ${a.proto}`, { proto: a.proto });
    }
    const prefs = this.local.codecs ?? ['PCMU', 'PCMA'];
    let codec: RtpMap | undefined;
    for (const name of prefs) {
      codec = a.rtpmaps.find((r) => r.encoding.toUpperCase() === name && r.clockRate === 8000 && a.formats.includes(r.payloadType));
      if (codec) break;
    }
    if (!codec) {
      throw new MediaError('MEDIA_ERR_SDP_NO_COMMON_CODEC', 'no common audio codec (want PCMU or PCMA)', {
        offered: a.rtpmaps.map((r) => `${r.payloadType} ${r.encoding}/${r.clockRate}`),
      });
    }
    // RFC 4733 §7.1.1 events at the audio codec's 8 kHz clock, and only if the m= line lists it.
    const te = a.rtpmaps.find((r) => r.encoding.toLowerCase() === 'telephone-event' && r.clockRate === 8000 && a.formats.includes(r.payloadType)) ?? null;
    const dir = answerDirection(a.direction, direction);
    const remoteAddress = a.connection ?? offer.connection!.address;
    const negotiated: Negotiated = {
      codec,
      telephoneEvent: te,
      remoteAddress,
      remotePort: a.port,
      remoteRtcpPort: a.rtcpPort ?? a.port + 1,
      direction: dir,
      ptime: 20,
      srtp,
    };
    const rtpmaps: RtpMap[] = [codec];
    if (te) rtpmaps.push({ ...te, fmtp: '0-16' });
    const sdp = this.describe({
      port: this.local.port,
      proto: a.proto,
      formats: rtpmaps.map((r) => r.payloadType),
      rtpmaps,
      direction: dir,
      ptime: 20,
      rtcpPort: this.local.port + 1,
      attributes: srtp ? [formatCryptoAttribute(srtp.tag, srtp.local)] : [],
    }, offer.otherMedia);
    this.current = negotiated;
    return { sdp, negotiated };
  }

  /**
   * An offer of our own (outbound calls, delayed offer, or a re-INVITE to hold: direction
   * 'sendonly'). RTP/SAVP with one a=crypto per suite when the policy is `required`, or with the
   * current key when the call already runs SRTP; pass its answer to acceptAnswer().
   */
  offer(direction: Direction = this.local.direction ?? 'sendrecv'): string {
    const crypto = offerCrypto(this.#srtpOptions, this.current?.srtp ?? null);
    this.#offeredKeys = crypto.keys;
    const prefs = this.local.codecs ?? ['PCMU', 'PCMA'];
    const rtpmaps: RtpMap[] = prefs.map((e) => ({ payloadType: WELL_KNOWN[e]!, encoding: e, clockRate: 8000 }));
    rtpmaps.push({ payloadType: 101, encoding: 'telephone-event', clockRate: 8000, fmtp: '0-16' });
    return this.describe({
      port: this.local.port,
      proto: crypto.proto,
      formats: rtpmaps.map((r) => r.payloadType),
      rtpmaps,
      direction,
      ptime: 20,
      rtcpPort: this.local.port + 1,
      attributes: crypto.attributes,
    }, []);
  }

  /**
   * The peer's answer to our last offer(): what was negotiated. Throws the same 488-class
   * errors as answer() (no common codec, or crypto that does not echo ours).
   */
  acceptAnswer(answer: SessionDescription): Negotiated {
    const a = answer.audio;
    if (!a || a.port === 0) throw new MediaError('MEDIA_ERR_SDP_NO_COMMON_CODEC', 'answer has no audio stream', {});
    const srtp = acceptAnswerSrtp(a, this.#offeredKeys);
    const prefs = this.local.codecs ?? ['PCMU', 'PCMA'];
    const codec = a.rtpmaps.find((r) => a.formats[0] === r.payloadType && prefs.includes(r.encoding.toUpperCase() as 'PCMU' | 'PCMA') && r.clockRate === 8000);
    if (!codec) {
      throw new MediaError('MEDIA_ERR_SDP_NO_COMMON_CODEC', 'the answer\'s first format is none of ours', { formats: a.formats });
    }
    const te = a.rtpmaps.find((r) => r.encoding.toLowerCase() === 'telephone-event' && r.clockRate === 8000 && a.formats.includes(r.payloadType)) ?? null;
    this.current = {
      codec,
      telephoneEvent: te,
      remoteAddress: a.connection ?? answer.connection!.address,
      remotePort: a.port,
      remoteRtcpPort: a.rtcpPort ?? a.port + 1,
      // RFC 3264 §6.1: the answer's direction is the peer's view; ours is its mirror.
      direction: a.direction === 'sendonly' ? 'recvonly' : a.direction === 'recvonly' ? 'sendonly' : a.direction,
      ptime: a.ptime ?? 20,
      srtp,
    };
    return this.current;
  }

  get #srtpOptions(): SrtpOptions {
    return this.local.srtp ?? { policy: 'offered' };
  }

  private describe(audio: NonNullable<SessionDescription['audio']>, otherMedia: string[]): string {
    const addrType = this.local.address.includes(':') ? 'IP6' : 'IP4';
    const build = (v: number): string =>
      buildSdp({
        origin: { username: this.local.username ?? 'warmline', sessionId: this.sessionId, sessionVersion: v, addrType, address: this.local.address },
        sessionName: 'warmline',
        connection: { addrType, address: this.local.address },
        audio,
        otherMedia,
      });
    // RFC 3264 §8: "the version in the origin field MUST increment by one from the previous
    // SDP", and stays the same when nothing changed.
    if (this.lastBody !== null && build(this.version) === this.lastBody) return this.lastBody;
    if (this.lastBody !== null) this.version++;
    this.lastBody = build(this.version);
    return this.lastBody;
  }
}
