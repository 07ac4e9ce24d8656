import { RtpSession, SdpNegotiator, parseSdp, type Negotiated, type Pacer, type PortAllocator, type SrtpOptions } from '../../media/index.js';
import type { MediaConfig } from '../config/index.js';
import { CallEndedError } from './errors.js';
import { openRtpLeg } from './rtp-leg.js';

/** What an answered outbound call hands to its Call (Call.startAnswered). */
export interface AnsweredMedia {
  rtp: RtpSession;
  port: number;
  negotiator: SdpNegotiator;
  negotiated: Negotiated;
  /** Our SDP (the offer): what a re-INVITE without an offer of its own is answered with. */
  sdp: string;
}

export interface OutboundMediaOptions {
  media: MediaConfig;
  ports: PortAllocator;
  /** Absent for a transfer's leg: the bridge sends each frame as it comes, nothing is paced. */
  pacer?: Pacer;
  cname: string;
  /** What to offer, preferred first; default media.codecs. */
  codecs?: readonly ('PCMU' | 'PCMA')[];
  /** The trunk's SRTP policy (media.srtp): `required` makes our offer RTP/SAVP with a=crypto. */
  srtp?: SrtpOptions;
}

/**
 * An outbound call's media before the Call takes it: the RTP port (taken from the pool when the
 * dial starts, so the offer names it), our offer, and the RTP session opened toward the callee's
 * answer — the early one of a 183 (early media: ringback or an announcement flows at once), then
 * the 2xx's. The answer is read with the negotiator's own rules (RFC 3264: our preferred codec
 * among those answered, direction mirrored); a 2xx that changes codec reopens the session on the
 * same port.
 */
export class OutboundMedia {
  readonly port: number;
  readonly negotiator: SdpNegotiator;
  readonly offer: string;
  readonly #o: OutboundMediaOptions;
  #rtp: RtpSession | undefined;
  #negotiated: Negotiated | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #owned = true;
  #closed = false;
  #portHeld = true;
  /** Our offer is RTP/SAVP: the answer must echo a suite of ours with its own key (acceptAnswer). */
  readonly #savp: boolean;

  /** Throws MEDIA_ERR_PORTS_EXHAUSTED when no RTP port is free (nothing is sent then). */
  constructor(o: OutboundMediaOptions) {
    this.#o = o;
    this.port = o.ports.allocate();
    this.negotiator = new SdpNegotiator({ address: o.media.advertise || o.media.host, port: this.port, codecs: [...(o.codecs ?? o.media.codecs)], ...(o.srtp && { srtp: o.srtp }) });
    this.offer = this.negotiator.offer();
    this.#savp = /RTP\/SAVP/.test(this.offer);
  }

  get rtp(): RtpSession | undefined { return this.#rtp; }

  /** Applies an answer (early or final), in order; throws MEDIA_ERR_SDP_* when it is unusable. */
  apply(answerSdp: string): Promise<Negotiated> {
    const next = this.#chain.then(() => this.#apply(answerSdp));
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #apply(answerSdp: string): Promise<Negotiated> {
    if (this.#closed) throw new CallEndedError({});
    // SRTP: the answer's key is checked against the suites we offered; plain: read with the answerer's rules (RFC 3264).
    const n = this.#savp ? this.negotiator.acceptAnswer(parseSdp(answerSdp)) : this.negotiator.answer(parseSdp(answerSdp)).negotiated;
    const cur = this.#negotiated;
    // An SRTP answer may bring another key (early, then final): the session is reopened with it.
    if (this.#rtp && cur && !n.srtp && cur.codec.payloadType === n.codec.payloadType && cur.telephoneEvent?.payloadType === n.telephoneEvent?.payloadType) {
      this.#negotiated = n;
      return n;
    }
    this.#rtp?.close();
    this.#rtp = undefined;
    const m = this.#o.media;
    const rtp = await openRtpLeg({ media: m, ports: this.#o.ports, ...(this.#o.pacer && { pacer: this.#o.pacer }) }, this.port, n, this.#o.cname, () => this.#releasePort());
    if (this.#closed) {
      rtp.close();
      throw new CallEndedError({});
    }
    this.#rtp = rtp;
    this.#negotiated = n;
    return n;
  }

  /** The media for the Call, which owns it (and the port) from now on. */
  handOff(): AnsweredMedia {
    if (!this.#rtp || !this.#negotiated) throw new Error('no answer applied');
    this.#owned = false;
    return { rtp: this.#rtp, port: this.port, negotiator: this.negotiator, negotiated: this.#negotiated, sdp: this.offer };
  }

  /** A call that ends before its Call exists: closes the RTP session and gives the port back. */
  close(): void {
    if (!this.#owned || this.#closed) return;
    this.#closed = true;
    this.#rtp?.close();
    this.#rtp = undefined;
    this.#releasePort();
  }

  #releasePort(): void {
    // The session closed for a reopen (codec changed) keeps the port: only the last close gives it back.
    if (!this.#portHeld || (!this.#closed && this.#owned)) return;
    this.#portHeld = false;
    this.#o.ports.release(this.port);
  }
}
