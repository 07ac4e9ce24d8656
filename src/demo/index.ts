export { DemoCredentials, type DemoCredential, type IssueRefusal } from './credentials.js';
export { DemoGuard, type InboundFilter } from './demo-guard.js';
export { demoRoutes, type DemoRoutesOptions } from './demo-routes.js';
export { demoBundle } from './bundle.js';
