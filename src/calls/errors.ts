import { defineError } from '../errors.js';

/** Our delayed-offer 200 carried the offer; the ACK had to carry the answer (RFC 3264 §5). */
export const SdpAnswerError = defineError<{ callId: string; why: string }>(
  'WL_ERR_SDP_ANSWER',
  'SdpAnswerError',
  (c) => `call ${c.callId}: the answer in the ACK to our offer is not usable: ${c.why}`,
);
