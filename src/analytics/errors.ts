import { defineError } from '../errors.js';

export const AnalyticsStoreError = defineError<{ store: string; operation: string }>(
  'WL_ERR_ANALYTICS_STORE',
  'AnalyticsStoreError',
  (c) => `analytics store ${c.store}: ${c.operation} failed`,
);

export const AnalyticsUrlError = defineError<{ url: string; expected: string }>(
  'WL_ERR_ANALYTICS_URL',
  'AnalyticsUrlError',
  (c) => `analytics url ${JSON.stringify(c.url)} is not usable: expected ${c.expected}`,
);
