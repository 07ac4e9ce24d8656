import { errorClass, type ErrorContext, type WarmlineErrorClass } from '../../src/errors.js';

/**
 * Errors of the benchmark and test harness (codes BENCH_ERR_…): the same shape as the product's
 * (code, message, context, cause) but outside its catalogue and docs/errors.md, because no user
 * of the gateway ever meets them. Listed in docs/benchmarks.md.
 */
const codes = new Set<string>();

export function defineBenchError<C extends ErrorContext>(code: string, name: string, message: (context: C) => string): WarmlineErrorClass<C> {
  if (!/^BENCH_ERR_[A-Z0-9_]+$/.test(code)) throw new TypeError(`bench error code '${code}' must match BENCH_ERR_[A-Z0-9_]+`);
  if (codes.has(code)) throw new TypeError(`bench error code '${code}' is defined twice`);
  codes.add(code);
  return errorClass(code, name, message);
}
