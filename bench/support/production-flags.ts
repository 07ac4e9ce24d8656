import { readFileSync } from 'node:fs';

/**
 * The V8 flags `npm start` runs the gateway with (package.json's start script, the flags between
 * `node` and `--import`): the benches run their gateways under them, so what they measure is the
 * gateway as deployed. One place, so a change to the start line reaches every bench.
 */
export function productionFlags(): string[] {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
  const start = pkg.scripts.start!.split(/\s+/);
  return start.slice(1, start.indexOf('--import')).filter((f) => f.startsWith('--'));
}
