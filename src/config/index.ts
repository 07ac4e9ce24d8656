export { loadConfig, DEFAULT_CONFIG_PATH, type LoadOptions, type DeepPartial } from './load.js';
export { configSchema, upstreamNames, type WarmlineConfig, type PoolConfig, type UpstreamName, type AgentConfig, type RouteConfig, type SipConfig, type MediaConfig, type AnalyticsConfig, type DemoConfig } from './schema.js';
export type { TransferConfig, TransferTargetConfig } from './schema-transfer.js';
export { ConfigInvalidError, ConfigFileError, type ConfigIssue } from './errors.js';
export type { OutboundConfig, TrunkConfig } from './schema-outbound.js';
export type { RegionConfig, RoutingConfig } from './schema-regions.js';
