import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_DIR = fileURLToPath(new URL('../../web/dashboard/', import.meta.url));

export interface DashboardAssets {
  html: string;
  js: string;
  css: string;
}

let built: Promise<DashboardAssets> | undefined;

/**
 * Bundles web/dashboard (TypeScript + uPlot from node_modules) with esbuild,
 * once per process, on the first request: no CDN, nothing fetched, and a
 * gateway nobody looks at never pays for it. A failed build is retried on the
 * next request rather than cached.
 */
export function dashboardAssets(): Promise<DashboardAssets> {
  built ??= build().catch((err: unknown) => {
    built = undefined;
    throw err;
  });
  return built;
}

async function build(): Promise<DashboardAssets> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({
    entryPoints: [`${DASHBOARD_DIR}main.ts`],
    bundle: true,
    write: false,
    minify: true,
    format: 'iife',
    target: 'es2022',
    outdir: '/dashboard-out',
    logLevel: 'silent',
  });
  const file = (ext: string) => out.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { html: await readFile(`${DASHBOARD_DIR}index.html`, 'utf8'), js: file('.js'), css: file('.css') };
}
