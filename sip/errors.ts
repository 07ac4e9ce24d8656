/**
 * The error catalogue of the SIP stack (codes SIP_ERR_…). sip/ never imports from src/, so it has
 * its own base with the same shape as src/errors.ts: a stable `code`, a message, the `context`
 * that produced it and, when another error caused it, `cause` (pass `{ cause }` last).
 *
 * Every code is listed here with its meaning and documented in docs/errors.md (code, meaning,
 * how to solve); test/unit/docs/error-codes.test.ts keeps code, catalogue and docs in step.
 */
export const sipErrorCodes = {
  SIP_ERR_PARSE: 'a SIP message that cannot be parsed',
  SIP_ERR_LIMIT: 'a SIP message over a configured limit (size, header count, line length)',
  SIP_ERR_TRANSPORT: 'a transport cannot send or listen (connection refused or lost, address in use)',
  SIP_ERR_TLS_CERTIFICATE: "a TLS peer's certificate failed verification (untrusted issuer, another host name, expired)",
  SIP_ERR_TIMEOUT: 'a transaction or dialog timer fired before the answer came',
  SIP_ERR_STATE: 'an operation a transaction or dialog no longer allows in its state',
  SIP_ERR_CONFIG: 'a user agent built with options it cannot run with',
  SIP_ERR_DIGEST_PARSE: 'a Digest challenge or credential that cannot be parsed',
  SIP_ERR_DIGEST_ALGORITHM: 'a Digest algorithm other than MD5 or SHA-256',
  SIP_ERR_DIGEST_QOP: 'a Digest challenge offering no qop we support (auth)',
  SIP_ERR_DNS_BAD_URI: 'a SIP destination with no host',
  SIP_ERR_DNS_NO_TARGETS: 'RFC 3263 resolution found no NAPTR, SRV or A/AAAA target',
  SIP_ERR_DNS_QUERY: 'no DNS server answered a question (or a DNS server address is not valid)',
  SIP_ERR_ALL_TARGETS_FAILED: 'every resolved target failed in turn',
  SIP_ERR_EDGE_CONFIG: 'an edge filter entry (carrier address or CIDR) that is not valid',
  SIP_ERR_REG_CONFIG: 'a registration account or option that is not valid',
  SIP_ERR_REG_DUPLICATE: 'a registration added twice under one id',
} as const;

export type SipErrorCode = keyof typeof sipErrorCodes;
type Context = Readonly<Record<string, unknown>>;

export class SipError extends Error {
  readonly code: string;
  readonly context: Context;

  /** `code` is one of sipErrorCodes (the docs test checks every code used in sip/). */
  constructor(code: SipErrorCode | (string & {}), message: string, context: Context = {}, options?: ErrorOptions) {
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

  constructor(reason: string, context: Context & { respondable?: boolean; status?: number; kind?: SipRejectReason } = {}, options?: ErrorOptions) {
    super('SIP_ERR_PARSE', `malformed SIP message: ${reason}`, context, options);
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

  constructor(limit: string, value: number, max: number, options?: ErrorOptions) {
    super('SIP_ERR_LIMIT', `SIP message ${limit} is ${value}, over the limit of ${max}`, { limit, value, max }, options);
  }
}

export class SipTransportError extends SipError {
  constructor(reason: string, context: Context = {}, options?: ErrorOptions, code: 'SIP_ERR_TRANSPORT' | 'SIP_ERR_TLS_CERTIFICATE' = 'SIP_ERR_TRANSPORT') {
    super(code, `SIP transport: ${reason}`, context, options);
  }
}

/**
 * A connection we opened whose peer presented a certificate we refuse (RFC 5922 §7.3): not
 * signed by a CA we trust, issued for another host name than the one we asked for, expired.
 * A SipTransportError still (the transaction fails at once, as for a refused connection),
 * with a code of its own so that logs and status tell a certificate problem from a network one.
 */
export class SipTlsCertificateError extends SipTransportError {
  constructor(reason: string, context: Context = {}, options?: ErrorOptions) {
    super(reason, context, options, 'SIP_ERR_TLS_CERTIFICATE');
  }
}

export class SipTimeoutError extends SipError {
  constructor(what: string, context: Context = {}, options?: ErrorOptions) {
    super('SIP_ERR_TIMEOUT', `SIP ${what} timed out`, context, options);
  }
}
