import { LeaseInvalidArgumentError } from './errors.js';

export function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 100) throw new LeaseInvalidArgumentError({ argument: 'ttlMs', value: ttlMs });
}
export function checkName(argument: string, value: string): void {
  if (typeof value !== 'string' || value.length === 0) throw new LeaseInvalidArgumentError({ argument, value });
}
export function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new LeaseInvalidArgumentError({ argument: 'limit', value: limit });
}
