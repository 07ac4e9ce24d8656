import { fileURLToPath } from 'node:url';
import type { AnalyticsStore } from '../../../src/analytics/index.js';
import { sipp } from '../../support/sipp.js';

export const SCENARIOS = fileURLToPath(new URL('../calls/scenarios/', import.meta.url));

/**
 * `n` carrier calls from sipp with its own RTP (a DTMF digit then A-law audio),
 * each held `holdMs` and hung up with BYE (call-hold-bye.xml: no RTP from sipp,
 * so the greeting plays to its end). One call at a time: the pools' floor is two ASR sockets, and
 * a loaded host may take longer than acquireTimeoutMs to open more. Resolves when sipp is done; throws
 * with sipp's output unless every call succeeded.
 */
export async function placeCalls(target: { address: string; port: number }, n: number, holdMs = 3000, scenario = 'call-pcap.xml'): Promise<void> {
  const run = sipp(target, ['-sf', `${SCENARIOS}${scenario}`, '-s', '15550001000', '-mp', '0', '-d', String(holdMs), '-m', String(n), '-r', '5', '-l', '1'], 120);
  const r = await run.done;
  if (r.code !== 0) throw new Error(`sipp failed (${r.code}):\n${r.out.slice(-3000)}`);
}

export async function count(store: AnalyticsStore, table: string, where = ''): Promise<number> {
  const [row] = await store.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} ${where}`);
  return Number(row?.n ?? 0);
}
