import { SipError } from '../errors.js';

export class SipEdgeConfigError extends SipError {
  constructor(message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super('SIP_ERR_EDGE_CONFIG', message, context, options);
  }
}
