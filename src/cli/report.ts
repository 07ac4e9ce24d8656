#!/usr/bin/env node
/**
 * `npm run report -- [--since 24h] [--out report.html] [--config FILE] [--url URL] [--schema NAME]`:
 * a self-contained HTML report from the analytics store the configuration
 * names (SQLite by default, or analytics.url's PostgreSQL).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { openStore } from '../analytics/index.js';
import { buildReport } from '../analytics/report/build.js';
import { CliUsageError } from './args.js';
import { startCommand } from './startup.js';

export const REPORT_USAGE = `usage: npm run report -- [--since 24h] [--out report.html] [--config FILE] [--url URL] [--schema NAME]

  --since D     how far back: 90m, 24h, 7d (default 24h)
  --out FILE    where the HTML goes (default report.html)
  --config FILE the gateway's configuration, for analytics.url / dataDir / schema
  --url URL     the store instead: postgres://user@host:port/db or sqlite:FILE
  --schema NAME PostgreSQL schema (default analytics.schema)`;

export interface ReportArgs { since: number; out: string; config?: string; url?: string; schema?: string; help: boolean }

const UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([mhd])$/.exec(s);
  if (!m) throw new CliUsageError({ reason: `--since '${s}': expected a number and m, h or d (90m, 24h, 7d)` });
  return Number(m[1]) * UNITS[m[2]!]!;
}

export function parseReportArgs(argv: readonly string[]): ReportArgs {
  const out: ReportArgs = { since: UNITS.h! * 24, out: 'report.html', help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('--')) throw new CliUsageError({ reason: `${flag} needs a value` });
      return v;
    };
    switch (flag) {
      case '--help': case '-h': out.help = true; break;
      case '--since': out.since = parseDuration(value()); break;
      case '--out': out.out = value(); break;
      case '--config': out.config = value(); break;
      case '--url': out.url = value(); break;
      case '--schema': out.schema = value(); break;
      default: throw new CliUsageError({ reason: `unknown argument '${a}'` });
    }
  }
  return out;
}

async function main(): Promise<number> {
  const start = startCommand('warmline report', process.argv.slice(2), parseReportArgs, REPORT_USAGE);
  if ('exit' in start) return start.exit;
  const { args, config } = start;
  const a = config.analytics;
  const store = await openStore({ url: args.url ?? a.url, dataDir: a.dataDir, schema: args.schema ?? a.schema });
  try {
    // An empty or new store has no tables yet: create them so the report says "no data" instead of failing.
    await store.migrate();
    const now = Date.now();
    const html = await buildReport(store, { since: now - args.since, now });
    const file = resolve(args.out);
    writeFileSync(file, html);
    process.stderr.write(`warmline report: ${file} (${Math.round(html.length / 1024)} KiB, from ${store.where})\n`);
  } finally {
    await store.close();
  }
  return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  process.stderr.write(`warmline report: failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
