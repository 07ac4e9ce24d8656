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
 * Why a message was refused, a stable label for logs and for the
 * `warmline_sip_rejected_total{reason}` series.
 */
export type SipRejectReason =
  | 'start-line' | 'version' | 'request-uri' | 'bad-header' | 'duplicate-header' | 'missing-header'
  | 'quoted-string' | 'control-character' | 'content-length' | 'cseq' | 'max-forwards' | 'no-header-end'
  | 'framing' | 'limit';

/**
 * A message that cannot be parsed. `respondable` is true when enough of it
 * was read (Via, From, To, Call-ID, CSeq) to send a response back (`status`,
 * 400 unless said otherwise: 505 for another SIP version); otherwise the
 * message is dropped and counted. `kind` says why, in one word.
 */
export class SipParseError extends SipError {
  readonly respondable: boolean;
  readonly status: number;
  readonly kind: SipRejectReason;

  constructor(reason: string, context: Readonly<Record<string, unknown>> & { respondable?: boolean; status?: number; kind?: SipRejectReason } = {}) {
    super('SIP_ERR_PARSE', `malformed SIP message: ${reason}`, context);
    this.respondable = context.respondable === true;
    this.status = context.status ?? 400;
    this.kind = context.kind ?? 'bad-header';
  }

  /** The same error, now knowing whether a response can be built. */
  withRespondable(respondable: boolean): SipParseError {
    return new SipParseError(this.message.replace(/^malformed SIP message: /, ''), { ...this.context, status: this.status, kind: this.kind, respondable });
  }
}

/** A message over a configured limit (size, header count, line length). */
export class SipLimitError extends SipError {
  readonly kind = 'limit' as const;

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
