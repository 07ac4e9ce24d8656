/**
 * The error catalogue of src/ (codes WL_ERR_…). Every error carries a stable `code` that callers
 * match on, a message that says what arrived and what was expected, the `context` that produced
 * it (so a log line or a test need not parse prose) and, when another error caused it, `cause`.
 * Each code is documented in docs/errors.md (code, meaning, how to solve);
 * test/unit/docs/error-codes.test.ts keeps that page and this catalogue in step.
 *
 * sip/ and media/ have catalogues of the same shape (sip/errors.ts, media/errors.ts): they never
 * import from src/. Benchmarks define theirs in bench/support/errors.ts, outside this catalogue.
 */
export type ErrorContext = Readonly<Record<string, unknown>>;

export class WarmlineError extends Error {
  readonly code: string;
  readonly context: ErrorContext;

  constructor(code: string, message: string, context: ErrorContext = {}, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.context = context;
    this.name = new.target.name;
  }
}

export interface WarmlineErrorClass<C extends ErrorContext> {
  new (context: C, options?: ErrorOptions): WarmlineError & { readonly context: C };
  readonly code: string;
}

const registry = new Map<string, WarmlineErrorClass<ErrorContext>>();

/** Every code defined so far (the catalogue), for the docs test that keeps docs/errors.md honest. */
export function definedErrorCodes(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Defines one error condition of the catalogue: a code and a message built from its context.
 * Codes are unique; defining one twice is a programming error caught at import time.
 */
export function defineError<C extends ErrorContext>(
  code: string,
  name: string,
  message: (context: C) => string,
): WarmlineErrorClass<C> {
  if (!/^WL_ERR_[A-Z0-9_]+$/.test(code)) throw new TypeError(`error code '${code}' must match WL_ERR_[A-Z0-9_]+`);
  if (registry.has(code)) throw new TypeError(`error code '${code}' is defined twice`);
  const cls = errorClass(code, name, message);
  registry.set(code, cls as unknown as WarmlineErrorClass<ErrorContext>);
  return cls;
}

/**
 * An error class of the same shape that stays out of the product catalogue: for code outside the
 * product (bench/support/errors.ts), whose codes users of the gateway never meet.
 */
export function errorClass<C extends ErrorContext>(
  code: string,
  name: string,
  message: (context: C) => string,
): WarmlineErrorClass<C> {
  const cls = class extends WarmlineError {
    static readonly code = code;
    declare readonly context: C;
    constructor(context: C, options?: ErrorOptions) {
      super(code, message(context), context, options);
      this.name = name;
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}
