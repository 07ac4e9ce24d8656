export { RegionRouter, type RegionChoice, type RegionHealth, type RegionRouterOptions } from './region-router.js';
