export { SipMessage, SipRequest, SipResponse } from './sip-message.js';
export { Via, NameAddr, parseCSeq, uriHostPort, type CSeq } from './header-values.js';
export { parseMessage, salvageRequest, headerEnd, DEFAULT_LIMITS, type ParseLimits } from './parser.js';
export { createResponse, responseToMalformed, answerMalformed, newBranch, newTag, newCallId, REASONS } from './build.js';
export { normalizeHeaderName, canonicalHeaderName, splitCommaValues, parseParams, formatParams } from './headers.js';
export { isRequestUri, isUri, stripControls } from './grammar.js';
