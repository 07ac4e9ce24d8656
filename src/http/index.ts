export { startOpsServer, type OpsServer, type OpsSources } from './ops-server.js';
