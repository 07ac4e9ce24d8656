export { EdgeFilter, type EdgeOptions, type EdgeRequest, type EdgeSource, type EdgeRefusal, type EdgeLogger, type EdgeStats } from './edge-filter.js';
export { TokenBuckets } from './token-bucket.js';
export { EarlyDrop, methodOf, type EarlyDropOptions, type EarlyDropStats } from './early-drop.js';
export { SipEdgeConfigError } from './errors.js';
