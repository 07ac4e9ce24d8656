/**
 * The analytics a gateway with `calls` calls in progress would run, inside the
 * bench process: the real Analytics (SQLite in a temporary folder, the real
 * bounded queue, batch writer and 1-second sampler), fed the rows such a
 * gateway produces — a turn row per call every 8 s, a call row per call every
 * 3 minutes, a snapshot of 8 pools every 10 s. On only when ANALYTICS=1, so
 * bench:media measures the same process with and without it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Analytics } from '../../src/analytics/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/log.js';

export interface AnalyticsLoadResult {
  analytics: 'on' | 'off';
  analytics_rows_pushed: number;
  analytics_rows_written: number;
  analytics_rows_dropped: number;
}

export interface AnalyticsLoad {
  stop(): Promise<AnalyticsLoadResult>;
}

const TURN_EVERY_S = 8;
const CALL_EVERY_S = 180;
const TICK_MS = 100;

export async function startAnalyticsLoad(calls: number, on = process.env.ANALYTICS === '1'): Promise<AnalyticsLoad> {
  if (!on) return { stop: async () => ({ analytics: 'off', analytics_rows_pushed: 0, analytics_rows_written: 0, analytics_rows_dropped: 0 }) };
  const dir = mkdtempSync(join(tmpdir(), 'wl-bench-analytics-'));
  const config = loadConfig({ env: {}, overrides: { analytics: { url: `sqlite:${join(dir, 'a.sqlite')}` } } }).analytics;
  const analytics = await Analytics.open(config, { log: createLogger('warn') });
  await analytics.whenMigrated();
  analytics.start({ replicaId: () => 'bench', pools: () => [], calls: () => ({ active: [], recent: [], totals: { answered: 0, refused: 0, ended: {} } }), registrations: () => [], gates: () => [] });
  let pushed = 0;
  let turnDebt = 0;
  let callDebt = 0;
  let last = Date.now();
  let lastSnapshot = last;
  const push: Analytics['writer']['push'] = (r) => { pushed++; analytics.writer.push(r); };
  const timer = setInterval(() => {
    // By the clock, not by ticks: a late timer on a loaded host must not lower the row rate.
    const now = Date.now();
    const elapsedS = (now - last) / 1000;
    last = now;
    turnDebt += (calls / TURN_EVERY_S) * elapsedS;
    callDebt += (calls / CALL_EVERY_S) * elapsedS;
    for (; turnDebt >= 1; turnDebt--) {
      push({ table: 'turns', row: {
        id: randomUUID(), call_id: randomUUID(), turn: 2, agent: 'receptionist', replica: 'bench', at: now, outcome: 'completed',
        asr_final_ms: 310, llm_first_token_ms: 420, tts_first_audio_ms: 520, first_rtp_out_ms: 530, done_ms: 2400,
        acquire_asr_ms: null, acquire_tts_ms: 0.01, acquire_llm_ms: 0.01, acquire_crm_ms: 0.01, connections_opened: 0,
      } });
    }
    for (; callDebt >= 1; callDebt--) {
      push({ table: 'calls', row: {
        id: randomUUID(), sip_call_id: randomUUID(), did: '15550001000', caller: '+15551230001', agent: 'receptionist', replica: 'bench', codec: 'PCMU', transport: 'sip',
        started_at: now - 180_000, answered_at: now - 179_900, ended_at: now, end_reason: 'bye', turns: 22, rtp_received: 9000, rtp_sent: 9000, rtp_lost: 0, rtp_dropped: 0,
      } });
    }
    if (now - lastSnapshot >= 10_000) {
      lastSnapshot = now;
      for (let p = 0; p < 8; p++) {
        push({ table: 'pool_snapshots', row: {
          id: randomUUID(), at: now, replica: 'bench', pool: `p${p}`, upstream: 'asr', pool_key: 'k', state: 'ready', size: 50, idle: 10, in_use: 40, target: 50, pending: 0,
          acquire_p50_ms: 0.01, acquire_p95_ms: 0.02, acquire_p99_ms: 0.03, opens: 60, closes: 10, replacements: 2, keepalive_failures: 0, exhausted: 0,
        } });
      }
    }
  }, TICK_MS);
  return {
    stop: async () => {
      clearInterval(timer);
      await analytics.close();
      const s = analytics.writer.stats();
      rmSync(dir, { recursive: true, force: true });
      return { analytics: 'on', analytics_rows_pushed: pushed, analytics_rows_written: s.written, analytics_rows_dropped: s.dropped };
    },
  };
}
