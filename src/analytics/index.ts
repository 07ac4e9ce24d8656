export { Analytics, type AnalyticsOptions } from './analytics.js';
export { DemandForecast, type DemandForecastOptions } from './demand-forecast.js';
export { Recorder, type RecorderSources, type RefusedCall, type WatchedPool } from './recorder.js';
export { RowWriter, type RowWriterOptions, type RowWriterStats } from './row-writer.js';
export { LiveWindow, WINDOW_MS, type LiveSample, type LiveEvent, type LiveMessage, type PoolPoint, type GatePoint, type RegistrationPoint } from './live.js';
export { openStore, redactUrl, type AnalyticsStore, type StoreTarget, type SqlValue } from './store.js';
export { TABLES, TABLE_NAMES, MIGRATIONS, columns, type TableName, type Row, type AnyRow } from './tables.js';
export { AnalyticsStoreError, AnalyticsUrlError } from './errors.js';
