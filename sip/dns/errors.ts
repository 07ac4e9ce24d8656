import { SipError } from '../errors.js';

export class SipDnsError extends SipError {
  constructor(code: 'SIP_ERR_DNS_NO_TARGETS' | 'SIP_ERR_DNS_BAD_URI' | 'SIP_ERR_DNS_QUERY' | 'SIP_ERR_ALL_TARGETS_FAILED', message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super(code, message, context, options);
  }
}
