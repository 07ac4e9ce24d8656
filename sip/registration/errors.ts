import { SipError } from '../errors.js';

export class SipRegistrationError extends SipError {
  constructor(code: 'SIP_ERR_REG_CONFIG' | 'SIP_ERR_REG_DUPLICATE', message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super(code, message, context, options);
  }
}
