import { defineError } from '../errors.js';

/** Where a failure happened: never the API key. */
type Where = { provider: string; url: string };

const Auth = defineError<Where & { status: number; body: string }>(
  'WL_ERR_UPSTREAM_AUTH',
  'UpstreamAuthError',
  (c) => `${c.provider} rejected the API key at ${c.url} (HTTP ${c.status}${c.body ? `: ${c.body}` : ''}); check the key — retrying will not help`,
);

/** A rejected key: the pool sees `permanent` and stops retrying fast. */
export class UpstreamAuthError extends Auth {
  readonly permanent = true as const;
}

export const UpstreamConnectError = defineError<Where & { reason: string }>(
  'WL_ERR_UPSTREAM_CONNECT',
  'UpstreamConnectError',
  (c) => `cannot connect to ${c.provider} at ${c.url}: ${c.reason}`,
);

export const UpstreamProtocolError = defineError<Where & { reason: string; excerpt: string }>(
  'WL_ERR_UPSTREAM_PROTOCOL',
  'UpstreamProtocolError',
  (c) => `${c.provider} at ${c.url} sent something the protocol does not allow (${c.reason}): ${JSON.stringify(c.excerpt)}`,
);

export const UpstreamClosedError = defineError<Where & { code: number; reason: string }>(
  'WL_ERR_UPSTREAM_CLOSED',
  'UpstreamClosedError',
  (c) => `${c.provider} at ${c.url} closed the connection (code ${c.code}${c.reason ? `, ${c.reason}` : ''})`,
);

export const UpstreamHttpError = defineError<Where & { status: number; body: string }>(
  'WL_ERR_UPSTREAM_HTTP',
  'UpstreamHttpError',
  (c) => `${c.provider} at ${c.url} answered HTTP ${c.status}${c.body ? `: ${c.body}` : ''}`,
);

export const UpstreamTimeoutError = defineError<Where & { what: string; timeoutMs: number }>(
  'WL_ERR_UPSTREAM_TIMEOUT',
  'UpstreamTimeoutError',
  (c) => `${c.provider} at ${c.url}: ${c.what} took longer than ${c.timeoutMs} ms`,
);

/** The first 200 characters of a body or frame, for an error message. */
export function excerpt(text: string | Buffer): string {
  const s = typeof text === 'string' ? text : text.toString('utf8');
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}
