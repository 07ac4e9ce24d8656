export { parseSdp, buildSdp } from './session-description.js';
export type { SessionDescription, AudioMedia, RtpMap, Direction } from './session-description.js';
export { SdpNegotiator } from './negotiate.js';
export type { LocalMedia, Negotiated } from './negotiate.js';
export { isWebRtcOffer, planWebRtcAnswer, addHostCandidate, addSsrc } from './webrtc-offer.js';
export type { WebRtcOfferPlan } from './webrtc-offer.js';
