import { fileURLToPath } from 'node:url';

/** web/demo/, where the page and its TypeScript live. */
export const DEMO_DIR = new URL('../../web/demo/', import.meta.url);

let bundled: Promise<string> | undefined;

/**
 * The page's script, bundled from npm (sip.js) by esbuild on first request and kept for the
 * life of the process: no CDN, no build step before `npm start`, and gateways that never serve
 * the page (tests, benchmarks) never pay for it.
 */
export function demoBundle(): Promise<string> {
  // esbuild is loaded on the first page request too: a gateway's start does not pay for it.
  bundled ??= import('esbuild').then(({ build }) => build({
    entryPoints: [fileURLToPath(new URL('app.ts', DEMO_DIR))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'chrome100',
    minify: true,
    logLevel: 'silent',
  })).then((r) => r.outputFiles[0]!.text);
  // A failed build is retried on the next request rather than cached.
  bundled.catch(() => { bundled = undefined; });
  return bundled;
}
