/**
 * The operations dashboard. Everything comes from the gateway's SSE stream
 * (/api/analytics/live): the last 15 minutes on connect, then one sample a
 * second. Requests carry the operations token, if one was given as ?token=,
 * as a bearer header (fetch streaming rather than EventSource, which cannot
 * send headers).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import type { LiveEvent, LiveSample } from '../../src/analytics/live.js';
import { waterfallSvg, type TurnView } from '../../src/analytics/waterfall-svg.js';

const WINDOW_MS = 15 * 60_000;
const COLORS = ['#2f6fde', '#e0663c', '#2bb37a', '#9b6ce0', '#c9a227', '#d14d8c', '#3bb0c9', '#7a8699'];

const params = new URLSearchParams(location.search);
let token = params.get('token') ?? sessionStorage.getItem('warmline-token') ?? '';
if (params.get('token')) {
  sessionStorage.setItem('warmline-token', token);
  // The token leaves the address bar (and the browser's history) once it is kept for this tab.
  history.replaceState(null, '', location.pathname);
}
const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};

/** The data needs the operations token (ops.tokens): ask for it once when the gateway says 401. */
function askToken(): boolean {
  const given = prompt('Operations token (ops.tokens) for this dashboard:');
  if (!given) return false;
  token = given.trim();
  sessionStorage.setItem('warmline-token', token);
  headers.authorization = `Bearer ${token}`;
  return true;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: unknown) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
const time = (t: number) => new Date(t).toLocaleTimeString();

let samples: LiveSample[] = [];
let events: LiveEvent[] = [];
let store = '';

interface SeriesDef { label: string; color: string; dash?: number[]; scale?: string }
interface Chart { el: HTMLElement; plot: uPlot | undefined; key: string }
const charts = new Map<string, Chart>();

const zeroBased = (_u: uPlot, _min: number | null, max: number | null): uPlot.Range.MinMax => [0, Math.max(1, (max ?? 0) * 1.1)];

/** A uPlot line chart that rebuilds itself when its set of series changes (a pool appears). */
function draw(el: HTMLElement, defs: SeriesDef[], data: Array<Array<number | null>>, height = 180, axes?: { left?: string; right?: string }): void {
  const key = defs.map((d) => d.label).join('|');
  let c = charts.get(el.id);
  if (!c || c.key !== key) {
    c?.plot?.destroy();
    const width = Math.max(300, el.clientWidth || 400);
    const opts: uPlot.Options = {
      width, height,
      cursor: { drag: { x: false, y: false } },
      legend: { live: false },
      // Counts and latencies start at zero; an all-zero series gets 0–1, not uPlot's 0–100.
      scales: { x: { time: true }, y: { range: zeroBased }, ...(axes?.right && { right: { range: zeroBased } }) },
      axes: [
        // Clock time only: uPlot's default adds a date line that crowds small charts.
        { stroke: '#6b7686', grid: { stroke: '#eef1f5' }, space: 80, values: (_u: uPlot, splits: number[]) => splits.map((t) => new Date(t * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false })) },
        { stroke: '#6b7686', grid: { stroke: '#eef1f5' }, size: 46, ...(axes?.left && { label: axes.left, labelSize: 16 }) },
        ...(axes?.right ? [{ scale: 'right', side: 1 as const, stroke: '#6b7686', grid: { show: false }, label: axes.right, labelSize: 16, size: 46 }] : []),
      ],
      series: [{}, ...defs.map((d) => ({ label: d.label, stroke: d.color, width: 1.75, ...(d.dash && { dash: d.dash }), ...(d.scale && { scale: d.scale }), points: { show: false } }))],
    };
    el.innerHTML = '';
    c = { el, key, plot: new uPlot(opts, data as uPlot.AlignedData, el) };
    charts.set(el.id, c);
  } else {
    c.plot!.setData(data as uPlot.AlignedData);
  }
  // What the browser test reads: how many points are drawn, and the largest value.
  let points = 0;
  let max = 0;
  for (const s of data.slice(1)) for (const v of s) if (v !== null) { points++; max = Math.max(max, v); }
  el.dataset.points = String(points);
  el.dataset.max = String(max);
}

/** The change of a running total over the last minute, at every sample. */
function perMinute(total: (s: LiveSample) => number | undefined): Array<number | null> {
  let j = 0;
  return samples.map((s, i) => {
    while (samples[j]!.t < s.t - 60_000) j++;
    const now = total(s);
    const then = total(samples[j]!);
    return now === undefined || then === undefined || i === j ? (now === undefined ? null : 0) : now - then;
  });
}

function render(): void {
  if (samples.length === 0) return;
  const xs = samples.map((s) => s.t / 1000);
  const last = samples[samples.length - 1]!;
  const perMin = perMinute((s) => s.callsAnswered);
  $('call-numbers').innerHTML = [
    ['in progress', last.callsActive], ['answered, last minute', perMin[perMin.length - 1] ?? 0], ['ended since start', last.callsEnded], ['replica', esc(last.replica)],
  ].map(([k, v]) => `<div><b>${v}</b>${k}</div>`).join('');
  draw($('chart-calls'), [{ label: 'calls in progress', color: COLORS[0]! }, { label: 'calls per minute', color: COLORS[1]!, scale: 'right' }],
    [xs, samples.map((s) => s.callsActive), perMin], 200, { left: 'in progress', right: 'per minute' });

  const pools = [...new Set(samples.flatMap((s) => s.pools.map((p) => p.label)))];
  const at = (s: LiveSample, label: string) => s.pools.find((p) => p.label === label);
  const grid = $('pool-charts');
  for (const label of pools) {
    let box = document.getElementById(`pool-${label}`);
    if (!box) {
      const wrap = document.createElement('div');
      const p = at(last, label);
      wrap.innerHTML = `<h3>${esc(label)} <small>${esc(p?.key ?? '')}</small></h3><div class="chart" id="pool-${esc(label)}" data-points="0"></div>`;
      grid.appendChild(wrap);
      box = document.getElementById(`pool-${label}`)!;
    }
    const col = (f: (p: NonNullable<ReturnType<typeof at>>) => number) => samples.map((s) => { const p = at(s, label); return p ? f(p) : null; });
    draw(box, [
      { label: 'size', color: COLORS[0]! }, { label: 'idle', color: COLORS[2]! }, { label: 'in use', color: COLORS[1]! }, { label: 'target', color: COLORS[7]!, dash: [5, 4] },
    ], [xs, col((p) => p.size), col((p) => p.idle), col((p) => p.inUse), col((p) => p.target)], 150);
  }
  draw($('chart-p95'), pools.map((l, i) => ({ label: l, color: COLORS[i % COLORS.length]! })),
    [xs, ...pools.map((l) => samples.map((s) => at(s, l)?.p95 ?? null))], 180, { left: 'ms' });
  draw($('chart-reopen'), [
    ...pools.map((l, i) => ({ label: `${l} re-opens`, color: COLORS[i % COLORS.length]! })),
    ...pools.map((l, i) => ({ label: `${l} exhausted`, color: COLORS[i % COLORS.length]!, dash: [3, 3] })),
  ], [xs, ...pools.map((l) => perMinute((s) => at(s, l)?.replacements)), ...pools.map((l) => perMinute((s) => at(s, l)?.exhausted))], 180);

  const providers = [...new Set(samples.flatMap((s) => s.gates.map((g) => g.provider)))];
  if (providers.length) {
    draw($('chart-caps'), providers.flatMap((p, i) => [
      { label: `${p} held`, color: COLORS[i % COLORS.length]! }, { label: `${p} fair share`, color: COLORS[i % COLORS.length]!, dash: [5, 4] },
    ]), [xs, ...providers.flatMap((p) => [samples.map((s) => s.gates.find((g) => g.provider === p)?.held ?? null), samples.map((s) => s.gates.find((g) => g.provider === p)?.fairShare ?? null)])], 160);
  } else {
    $('chart-caps').innerHTML = '<p class="empty">No provider cap configured (upstreams.*.concurrencyCap is 0): slots are not counted.</p>';
  }
  $('caps').querySelector('tbody')!.innerHTML = last.gates.length
    ? last.gates.map((g) => `<tr><td>${esc(g.provider)}</td><td><span class="badge ${esc(g.mode)}">${esc(g.mode)}</span></td><td>${g.held}</td><td>${g.limit}</td><td>${g.fairShare}</td><td>${g.replicas}</td></tr>`).join('')
    : '<tr><td class="empty" colspan="6">none</td></tr>';
  $('registrations').querySelector('tbody')!.innerHTML = last.registrations.length
    ? last.registrations.map((r) => `<tr><td>${esc(r.id)}</td><td><span class="badge ${esc(r.state)}">${esc(r.state)}</span></td><td>${r.lastStatus ?? '—'}</td><td>${r.rttMs === null ? '—' : `${r.rttMs.toFixed(1)} ms`}</td><td>${r.failures}</td></tr>`).join('')
    : '<tr><td class="empty" colspan="5">No registration owned by this replica (config: registrations).</td></tr>';
  $('events').querySelector('tbody')!.innerHTML = events.length
    ? events.slice(-30).reverse().map((e) => `<tr><td>${time(e.t)}</td><td>${esc(e.pool)}</td><td><span class="badge ${esc(e.kind)}">${esc(e.kind)}</span></td><td>${esc(e.reason)}</td></tr>`).join('')
    : '<tr><td class="empty" colspan="4">No exhaustion, replacement or slow-acquire alarm in the window.</td></tr>';
  const a = last.analytics;
  $('status').innerHTML = `live · ${time(last.t)} · store ${esc(store)} ${a.storeUp ? '' : '<span class="bad">(down)</span>'} · rows queued ${a.queued}, dropped ${a.dropped}`;
}

let scheduled = false;
function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => { scheduled = false; render(); });
}

function trim(): void {
  const from = Date.now() - WINDOW_MS;
  while (samples.length && samples[0]!.t < from) samples.shift();
  while (events.length && events[0]!.t < from) events.shift();
}

interface CallView { id: string; did: string; caller: string; agent: string; tenant: string | null; region: string | null; failedOverFrom: string | null; state: string; startedAt: string; endReason: string | null; turns: TurnView[] }
let selected: string | undefined;
let calls: CallView[] = [];
/** The tenant filter ('' = every tenant), and every tenant seen so far. */
let tenant = '';
const tenants = new Set<string>();

async function refreshCalls(): Promise<void> {
  const res = await fetch(`/api/analytics/calls${tenant ? `?tenant=${encodeURIComponent(tenant)}` : ''}`, { headers });
  if (!res.ok) return;
  const v = (await res.json()) as { active: CallView[]; recent: CallView[] };
  calls = [...v.active, ...v.recent];
  for (const t of calls.map((c) => c.tenant ?? 'default')) tenants.add(t);
  if (!selected || !calls.some((c) => c.id === selected)) selected = calls.find((c) => c.turns.length)?.id ?? calls[0]?.id;
  const options = ['', ...[...tenants].sort()].map((t) => `<option value="${esc(t)}"${t === tenant ? ' selected' : ''}>${t ? esc(t) : 'every tenant'}</option>`).join('');
  $('calls').innerHTML = `<li class="filter"><select id="tenant" aria-label="tenant">${options}</select></li>` + (calls.length
    ? calls.map((c) => `<li data-id="${esc(c.id)}" class="${c.id === selected ? 'selected' : ''}">${esc(new Date(c.startedAt).toLocaleTimeString())} · ${esc(c.did || '—')} → ${esc(c.agent)} <small>${c.tenant ? `${esc(c.tenant)} · ` : ''}${c.region ? `${esc(c.region)}${c.failedOverFrom ? ` (failed over from ${esc(c.failedOverFrom)})` : ''} · ` : ''}${c.state === 'ended' ? esc(c.endReason) : 'in progress'} · ${c.turns.length} turns</small></li>`).join('')
    : '<li class="empty">No call since the gateway started.</li>');
  const call = calls.find((c) => c.id === selected);
  const box = $('waterfall');
  box.innerHTML = call ? waterfallSvg(call.turns, Math.max(420, box.clientWidth || 760)) : '<p class="empty">No call yet.</p>';
}

$('calls').addEventListener('change', (e) => {
  const el = e.target as HTMLSelectElement;
  if (el.id !== 'tenant') return;
  tenant = el.value;
  selected = undefined;
  refreshCalls().catch(() => undefined);
});

$('calls').addEventListener('click', (e) => {
  const li = (e.target as HTMLElement).closest('li[data-id]') as HTMLElement | null;
  if (!li) return;
  selected = li.dataset.id;
  refreshCalls().catch(() => undefined);
});

async function stream(): Promise<void> {
  const res = await fetch('/api/analytics/live', { headers });
  if (res.status === 401 && askToken()) return;
  if (!res.ok || !res.body) throw new Error(`live stream: HTTP ${res.status}${res.status === 401 ? ' (an operations token is needed)' : ''}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error('live stream ended');
    buf += value;
    let cut: number;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const type = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (!type || data === undefined) continue;
      const msg = JSON.parse(data);
      if (type === 'history') {
        samples = msg.samples;
        events = msg.events;
        store = `${msg.store.kind}`;
      } else if (type === 'sample') {
        samples.push(msg as LiveSample);
      } else if (type === 'event') {
        events.push(msg as LiveEvent);
      } else if (type === 'calls') {
        refreshCalls().catch(() => undefined);
      }
      trim();
      schedule();
    }
  }
}

async function connect(): Promise<void> {
  for (;;) {
    try {
      await stream();
    } catch (err) {
      $('status').innerHTML = `<span class="bad">disconnected (${esc((err as Error).message)}), retrying…</span>`;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

connect().catch((err: unknown) => { $('status').innerHTML = `<span class="bad">stopped: ${esc((err as Error).message)}</span>`; });
refreshCalls().catch(() => undefined);
setInterval(() => { refreshCalls().catch(() => undefined); }, 5000);
