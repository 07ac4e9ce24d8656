export { startOpsServer, type OpsServer, type OpsSources, type OpsAccess, type OpsTls } from './ops-server.js';
export { OpsAuth, isProtected, isProbePath, isLoopback, deny, type OpsToken, type ProbeAccess, type OpsCaller, type OpsDecision } from './auth.js';
export type { OpsAdmin, FloorResult } from './admin.js';
export { callsApiRoutes, type CallsApiSource, type OutboundCallHandle } from './calls-api.js';
