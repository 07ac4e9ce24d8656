/**
 * Typed errors of the SIP stack (codes SIP_ERR_…). sip/ never imports from
 * src/, so it has its own small base with the same shape as src/errors.ts.
 */
export class SipError extends Error {
  readonly code: string;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.context = context;
    this.name = new.target.name;
  }
}

/**
 * A message that cannot be parsed. `respondable` is true when enough of it
 * was read (Via, From, To, Call-ID, CSeq) to send 400 Bad Request back;
 * otherwise the message is dropped and counted.
 */
export class SipParseError extends SipError {
  readonly respondable: boolean;

  constructor(reason: string, context: Readonly<Record<string, unknown>> & { respondable?: boolean } = {}) {
    super('SIP_ERR_PARSE', `malformed SIP message: ${reason}`, context);
    this.respondable = context.respondable === true;
  }
}

/** A message over a configured limit (size, header count, line length). */
export class SipLimitError extends SipError {
  constructor(limit: string, value: number, max: number) {
    super('SIP_ERR_LIMIT', `SIP message ${limit} is ${value}, over the limit of ${max}`, { limit, value, max });
  }
}

export class SipTransportError extends SipError {
  constructor(reason: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super('SIP_ERR_TRANSPORT', `SIP transport: ${reason}`, context, options);
  }
}

export class SipTimeoutError extends SipError {
  constructor(what: string, context: Readonly<Record<string, unknown>> = {}) {
    super('SIP_ERR_TIMEOUT', `SIP ${what} timed out`, context);
  }
}
