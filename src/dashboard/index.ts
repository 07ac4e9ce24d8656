export { chainRoutes, dashboardRoutes, type DashboardSources } from './routes.js';
export { dashboardAssets, DASHBOARD_DIR, type DashboardAssets } from './bundle.js';
