export { parseSdp, buildSdp } from './session-description.js';
export type { SessionDescription, AudioMedia, RtpMap, Direction } from './session-description.js';
export { SdpNegotiator } from './negotiate.js';
export type { LocalMedia, Negotiated } from './negotiate.js';
