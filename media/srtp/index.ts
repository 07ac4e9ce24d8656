export { SRTP_SUITES, isSrtpSuiteName } from './srtp-suite.js';
export type { SrtpSuite, SrtpSuiteName, SrtpKeyingMaterial } from './srtp-suite.js';
export { SrtpContext, SRTP_MALFORMED, SRTP_AUTH_FAILED, SRTP_REPLAYED, estimateRoc } from './srtp-context.js';
export { SrtcpContext } from './srtcp-context.js';
export { SrtpSession, generateKeyingMaterial } from './srtp-session.js';
export type { SrtpSessionKeys } from './srtp-session.js';
export { deriveSessionKey, LABEL as SRTP_KDF_LABEL } from './key-derivation.js';
export { AesCm } from './aes-cm.js';
