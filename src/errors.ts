/**
 * Typed errors for everything under src/. Every error carries a stable `code`
 * (WL_ERR_…) that callers match on, and the context that produced it, so a log
 * line or a test can say what arrived and what was expected without parsing prose.
 *
 * sip/ and media/ have their own bases (they never import from src/).
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

/** Every code defined so far, for the docs test that keeps docs/errors.md honest. */
export function definedErrorCodes(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Defines one error condition: a code and a message built from its context.
 * Codes are unique; defining one twice is a programming error caught at import time.
 */
export function defineError<C extends ErrorContext>(
  code: string,
  name: string,
  message: (context: C) => string,
): WarmlineErrorClass<C> {
  if (!/^WL_ERR_[A-Z0-9_]+$/.test(code)) throw new TypeError(`error code '${code}' must match WL_ERR_[A-Z0-9_]+`);
  if (registry.has(code)) throw new TypeError(`error code '${code}' is defined twice`);
  const cls = class extends WarmlineError {
    static readonly code = code;
    declare readonly context: C;
    constructor(context: C, options?: ErrorOptions) {
      super(code, message(context), context, options);
      this.name = name;
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  registry.set(code, cls as unknown as WarmlineErrorClass<ErrorContext>);
  return cls;
}
