import { isIP } from 'node:net';
import { SdpNegotiator, isMediaError, type Negotiated, type RtpSession, type SessionDescription, type SrtpOptions } from '../../media/index.js';
import type { MediaConfig } from '../config/index.js';
import type { SetupRefusal } from './call-types.js';
import { openRtpLeg, type RtpLegDeps } from './rtp-leg.js';
import { SrtpPolicies } from './srtp-policy.js';

/** A carrier's offer answered: the RTP session is open on the port our answer names. */
export interface AnsweredLeg {
  rtp: RtpSession;
  port: number;
  negotiator: SdpNegotiator;
  negotiated: Negotiated;
  answerSdp: string;
}

/** Our offer for a delayed-offer INVITE, on a port no RTP session owns yet. */
export interface OfferedLeg {
  port: number;
  negotiator: SdpNegotiator;
  offerSdp: string;
}

/**
 * Answers a carrier's (non-WebRTC) offer: a port, our answer under the source's SRTP policy, and
 * the RTP session toward the carrier. A refusal says the SIP status (488: nothing usable in the
 * offer; 503: no port). Another process may hold a port of our range: it is skipped for the next.
 */
export async function answerCarrierOffer(deps: RtpLegDeps, offer: SessionDescription, source: string, cname: string): Promise<AnsweredLeg | SetupRefusal> {
  const m = deps.media;
  for (let attempt = 1; ; attempt++) {
    const port = allocate(deps);
    if (typeof port !== 'number') return port;
    const srtp = srtpPolicies(m).for(source);
    const negotiator = new SdpNegotiator({ address: m.advertise || m.host, port, codecs: [...m.codecs], srtp });
    let answer: ReturnType<SdpNegotiator['answer']>;
    try {
      answer = negotiator.answer(offer);
    } catch (err) {
      deps.ports.release(port);
      if (isMediaError(err)) return { status: 488, reason: 'Not Acceptable Here', warning: err.message };
      throw err;
    }
    try {
      const rtp = await openRtpLeg(deps, port, answer.negotiated, cname);
      return { rtp, port, negotiator, negotiated: answer.negotiated, answerSdp: answer.sdp };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 8) continue;
      throw err;
    }
  }
}

/** An INVITE without SDP (RFC 3264 §5): our offer goes in the 200, on a port taken now. */
export function offerForDelayedOffer(deps: RtpLegDeps, source: string): OfferedLeg | SetupRefusal {
  const port = allocate(deps);
  if (typeof port !== 'number') return port;
  const m = deps.media;
  // The source's SRTP policy: `required` makes our offer RTP/SAVP with a=crypto (its answer comes in the ACK).
  const negotiator = new SdpNegotiator({ address: m.advertise || m.host, port, codecs: [...m.codecs], srtp: srtpPolicies(m).for(source) });
  return { port, negotiator, offerSdp: negotiator.offer() };
}

export function isRefusal(x: object): x is SetupRefusal {
  return 'status' in x;
}

function allocate(deps: RtpLegDeps): number | SetupRefusal {
  try {
    return deps.ports.allocate();
  } catch (err) {
    if (isMediaError(err)) return { status: 503, reason: 'Service Unavailable', warning: err.message };
    throw err;
  }
}

const policiesByConfig = new WeakMap<MediaConfig['srtp'], SrtpPolicies>();
/** One SrtpPolicies per (frozen) configuration, built on first use. */
export function srtpPolicies(m: MediaConfig): SrtpPolicies {
  let p = policiesByConfig.get(m.srtp);
  if (!p) policiesByConfig.set(m.srtp, (p = new SrtpPolicies(m.srtp)));
  return p;
}

/**
 * The SRTP policy of our offers to a trunk: media.srtp.trunks matched against the trunk's proxy
 * when it is an address (a host name is resolved only later, per call), else media.srtp.policy.
 */
export function trunkSrtp(m: MediaConfig, trunk: { proxy: { host: string } }): SrtpOptions {
  const host = trunk.proxy.host.replace(/^\[|\]$/g, '');
  return isIP(host) ? srtpPolicies(m).for(host) : { policy: m.srtp.policy, suites: m.srtp.suites };
}
