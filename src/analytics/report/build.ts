import type { AnalyticsStore } from '../store.js';
import type { Row } from '../tables.js';
import { waterfallSvg, type TurnView } from '../waterfall-svg.js';
import { clock, esc, groupedBars, lines, timeline, type TimeSeries } from './svg.js';

export interface ReportOptions {
  /** Rows from this time on (ms since the epoch). */
  since: number;
  now?: number;
  slowest?: number;
}

type TurnRow = Row<'turns'>;
type CallRow = Row<'calls'>;
type SnapshotRow = Row<'pool_snapshots'>;
type EventRow = Row<'pool_events'>;

/** Nearest-rank percentile of the numbers present; null when there are none. */
export function percentile(values: ReadonlyArray<number | null>, p: number): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  return v[Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1))]!;
}

const PCTS = [50, 95, 99] as const;
const pcts = (values: ReadonlyArray<number | null>) => PCTS.map((p) => percentile(values, p));
const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);
const groupBy = <T>(items: readonly T[], key: (t: T) => string) => {
  const m = new Map<string, T[]>();
  for (const i of items) m.set(key(i), [...(m.get(key(i)) ?? []), i]);
  return m;
};
const ms = (v: number | null) => (v === null ? '—' : `${v >= 100 ? Math.round(v) : v.toFixed(v >= 1 ? 1 : 3)} ms`);

/** What each upstream adds to a turn, measured between the marks it owns. */
const STAGE_OF: ReadonlyArray<{ upstream: string; value: (t: TurnRow) => number | null; acquire: (t: TurnRow) => number | null }> = [
  { upstream: 'asr', value: (t) => t.asr_final_ms, acquire: (t) => t.acquire_asr_ms },
  { upstream: 'llm', value: (t) => diff(t.llm_first_token_ms, t.asr_final_ms), acquire: (t) => t.acquire_llm_ms },
  { upstream: 'tts', value: (t) => diff(t.tts_first_audio_ms, t.llm_first_token_ms), acquire: (t) => t.acquire_tts_ms },
  { upstream: 'crm', value: () => null, acquire: (t) => t.acquire_crm_ms },
];

function turnView(t: TurnRow): TurnView {
  const marks: Record<string, number> = { speechEnd: 0 };
  const put = (k: string, v: number | null) => { if (v !== null) marks[k] = v; };
  put('asrFinal', t.asr_final_ms);
  put('llmFirstToken', t.llm_first_token_ms);
  put('ttsFirstAudio', t.tts_first_audio_ms);
  put('firstRtpOut', t.first_rtp_out_ms);
  put('done', t.done_ms);
  return { turn: t.turn ?? 0, outcome: t.outcome ?? '', marks, acquireMs: {}, connectionsOpened: t.connections_opened ?? 0 };
}

function table(head: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  if (rows.length === 0) return '<p class="empty">No rows in this period.</p>';
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The report as one HTML document: styles inline, charts as inline SVG, no script. */
export async function buildReport(store: AnalyticsStore, o: ReportOptions): Promise<string> {
  const now = o.now ?? Date.now();
  const since = o.since;
  const calls = await store.query<CallRow>('SELECT * FROM calls WHERE started_at >= ? ORDER BY started_at', [since]);
  const turns = await store.query<TurnRow>('SELECT * FROM turns WHERE at >= ? ORDER BY at', [since]);
  const snaps = await store.query<SnapshotRow>('SELECT * FROM pool_snapshots WHERE at >= ? ORDER BY at', [since]);
  const events = await store.query<EventRow>('SELECT * FROM pool_events WHERE at >= ? ORDER BY at', [since]);
  const first = (t: TurnRow) => (t.turn === 1 ? 'first turn' : 'later turns');
  const response = (t: TurnRow) => t.first_rtp_out_ms;

  // Turn latency, first against later, per agent and per upstream.
  const perAgent = [...groupBy(turns, (t) => `${t.agent} · ${first(t)}`)].sort(([a], [b]) => a.localeCompare(b));
  const agentRows = perAgent.map(([label, ts]) => ({ label, values: pcts(ts.map(response)), n: ts.filter((t) => response(t) !== null).length, of: ts.length, opened: ts.reduce((a, t) => a + (t.connections_opened ?? 0), 0) }));
  const upstreamRows = STAGE_OF.filter((s) => s.upstream !== 'crm').flatMap((s) => ['first turn', 'later turns'].map((kind) => {
    const ts = turns.filter((t) => first(t) === kind);
    return { label: `${s.upstream} · ${kind}`, values: pcts(ts.map(s.value)), n: ts.filter((t) => s.value(t) !== null).length };
  }));
  const acquireRows = STAGE_OF.map((s) => ({ label: s.upstream, values: pcts(turns.map(s.acquire)), n: turns.filter((t) => s.acquire(t) !== null).length })).filter((r) => r.n > 0);

  // Pools over time: size and in use, acquire p95 from the 10 s snapshots, events as ticks.
  const poolName = (r: { pool: string | null; pool_key: string | null }) => `${r.pool}${r.pool_key ? ` (${r.pool_key.split('|')[0]})` : ''}`;
  const snapsByPool = groupBy(snaps, (s) => `${poolName(s)} · ${s.replica}`);
  const p95Series: TimeSeries[] = [...snapsByPool].map(([name, ss]) => ({ name, points: ss.map((s) => [s.at ?? 0, s.acquire_p95_ms ?? 0] as const) }));
  const sizeSeries: TimeSeries[] = [...snapsByPool].flatMap(([name, ss]) => [
    { name: `${name} size`, points: ss.map((s) => [s.at ?? 0, s.size ?? 0] as const) },
    { name: `${name} in use`, points: ss.map((s) => [s.at ?? 0, s.in_use ?? 0] as const) },
  ]);
  const lanes = [...groupBy(events, poolName)].map(([name, es]) => ({ name, events: es.map((e) => ({ t: e.at ?? 0, kind: e.kind ?? '', reason: e.reason ?? '' })) }));
  const from = Math.min(now, ...events.map((e) => e.at ?? now), ...snaps.map((s) => s.at ?? now));

  const byReason = [...groupBy(calls, (c) => c.end_reason ?? 'in progress')].map(([label, cs]) => ({ label, values: [cs.length] })).sort((a, b) => b.values[0]! - a.values[0]!);
  const slowest = [...turns].filter((t) => response(t) !== null).sort((a, b) => response(b)! - response(a)!).slice(0, o.slowest ?? 10);

  const replicas = new Set([...calls.map((c) => c.replica), ...snaps.map((s) => s.replica)]);
  const sections = [
    `<section><h2>Summary</h2><div class="numbers">${[
      ['calls', calls.length], ['answered', calls.filter((c) => c.answered_at !== null).length], ['turns', turns.length],
      ['connections opened inside turns', turns.reduce((a, t) => a + (t.connections_opened ?? 0), 0)], ['replicas', replicas.size], ['pool events', events.length],
    ].map(([k, v]) => `<div><b>${v}</b>${k}</div>`).join('')}</div></section>`,
    `<section><h2>Turn latency: first turn against later turns</h2>
      <p>Caller's end of speech to the first RTP packet of the reply (what the caller hears as the wait), per agent.</p>
      ${groupedBars('Response per agent (p50 · p95 · p99)', agentRows, ['p50', 'p95', 'p99'], ' ms')}
      ${table(['agent · turns', 'replied (of turns)', 'p50', 'p95', 'p99', 'connections opened'], agentRows.map((r) => [r.label, `${r.n} (of ${r.of})`, ...r.values.map(ms), r.opened]))}
      <p>What each upstream adds: ASR (end of speech → final transcript), LLM (final → first token), TTS (first token → first audio).</p>
      ${groupedBars('Per upstream (p50 · p95 · p99)', upstreamRows, ['p50', 'p95', 'p99'], ' ms')}
      ${table(['upstream · turns', 'n', 'p50', 'p95', 'p99'], upstreamRows.map((r) => [r.label, r.n, ...r.values.map(ms)]))}</section>`,
    `<section><h2>Acquire latency per pool</h2>
      ${groupedBars('acquire() inside turns (p50 · p95 · p99)', acquireRows, ['p50', 'p95', 'p99'], ' ms')}
      ${table(['pool', 'acquisitions', 'p50', 'p95', 'p99'], acquireRows.map((r) => [r.label, r.n, ...r.values.map(ms)]))}
      ${lines('Acquire p95 over time (pool snapshots, every 10 s)', p95Series, ' ms')}</section>`,
    `<section><h2>Pool exhaustion and replacements</h2>
      ${timeline('Pool events (exhausted, replacement, slow-acquire alarm, keepalive and open failures)', lanes, from, now)}
      ${table(['time', 'pool', 'replica', 'event', 'reason'], events.slice(-50).map((e) => [clock(e.at ?? 0), poolName(e), e.replica, e.kind, e.reason]))}
      ${lines('Pool size and in use over time', sizeSeries)}</section>`,
    `<section><h2>Calls by end reason</h2>${groupedBars('Calls', byReason, ['calls'])}</section>`,
    `<section><h2>Slowest turns</h2>${slowest.length === 0 ? '<p class="empty">No turn reached its first RTP packet in this period.</p>' : slowest.map((t) => {
      const call = calls.find((c) => c.id === t.call_id);
      return `<div class="slow"><h3>${ms(response(t))} · ${esc(t.agent)} · turn ${t.turn} of call ${esc(String(t.call_id).slice(0, 8))} <small>${esc(clock(t.at ?? 0))}${call ? ` · ${esc(call.did)} · ${esc(call.end_reason)}` : ''} · acquire asr ${ms(t.acquire_asr_ms)}, llm ${ms(t.acquire_llm_ms)}, tts ${ms(t.acquire_tts_ms)} · ${t.connections_opened} opened</small></h3>${waterfallSvg([turnView(t)], 720)}</div>`;
    }).join('')}</section>`,
  ];
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Warmline report · ${esc(clock(since))} → ${esc(clock(now))}</title><style>${CSS}</style></head>
<body><header><h1>Warmline report</h1><p>${esc(clock(since))} → ${esc(clock(now))} UTC · store ${esc(store.kind)} (${esc(store.where)})</p></header><main>${sections.join('\n')}</main></body></html>`;
}

const CSS = `body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#1d2430;background:#f6f7f9}header{background:#17202e;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}header p{margin:4px 0 0;color:#c9d4e3}
main{padding:16px 24px;max-width:1100px}section{background:#fff;border:1px solid #e3e7ee;border-radius:8px;padding:12px 16px;margin-bottom:16px}h2{font-size:16px;margin:0 0 8px}h3{font-size:13px;margin:10px 0 2px}small{color:#6b7686;font-weight:400}
figure{margin:10px 0}figcaption{font-weight:600;font-size:13px;margin-bottom:4px}svg{max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#1d2430}svg .axis,svg .value{fill:#6b7686}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th{text-align:left;color:#6b7686;font-weight:500;border-bottom:1px solid #e3e7ee;padding:3px 10px 3px 0}td{border-bottom:1px solid #eef1f5;padding:3px 10px 3px 0}
.numbers{display:flex;gap:28px;flex-wrap:wrap}.numbers div{font-size:12px;color:#6b7686}.numbers b{display:block;font-size:22px;color:#1d2430}.empty{color:#6b7686;font-style:italic}
.slow svg{max-width:720px}.legend{display:flex;gap:12px;flex-wrap:wrap;font-size:12px;color:#6b7686;margin-top:4px}.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px}`;
