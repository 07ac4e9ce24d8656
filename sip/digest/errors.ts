import { SipError } from '../errors.js';

/** A challenge or Authorization header that cannot be used (codes SIP_ERR_DIGEST_…). */
export class DigestError extends SipError {
  constructor(code: 'SIP_ERR_DIGEST_PARSE' | 'SIP_ERR_DIGEST_ALGORITHM' | 'SIP_ERR_DIGEST_QOP', message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super(code, message, context, options);
  }
}
