/**
 * Inline SVG charts for the HTML report: no script, no library, so the file
 * opens anywhere and stays self-contained. Every chart is a <figure> whose
 * `data-marks` says how many bars, points or ticks it drew (the browser test
 * reads it; zero marks renders an explicit "no data" note instead).
 */

export const PALETTE = ['#2f6fde', '#e0663c', '#2bb37a', '#9b6ce0', '#c9a227', '#d14d8c', '#3bb0c9', '#7a8699'];

export const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function figure(title: string, marks: number, body: string, legend = ''): string {
  if (marks === 0) return `<figure data-marks="0"><figcaption>${esc(title)}</figcaption><p class="empty">No data in this period.</p></figure>`;
  return `<figure data-marks="${marks}"><figcaption>${esc(title)}</figcaption>${body}${legend}</figure>`;
}

function legendOf(names: readonly string[]): string {
  return `<div class="legend">${names.map((n, i) => `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>${esc(n)}</span>`).join('')}</div>`;
}

function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v) ?? v;
}

const fmt = (v: number) => (Number.isInteger(v) || v >= 100 ? Math.round(v).toString() : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** Grouped horizontal bars: one group per row label, one bar per series. */
export function groupedBars(title: string, rows: ReadonlyArray<{ label: string; values: ReadonlyArray<number | null> }>, series: readonly string[], unit = ''): string {
  const width = 720;
  const left = 170;
  const bar = 12;
  const group = series.length * bar + 10;
  const max = niceMax(Math.max(0, ...rows.flatMap((r) => r.values.filter((v): v is number => v !== null))));
  const x = (v: number) => (v / max) * (width - left - 60);
  const height = rows.length * group + 24;
  let marks = 0;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}">`];
  rows.forEach((r, i) => {
    const y = i * group + 4;
    parts.push(`<text x="${left - 8}" y="${y + group / 2}" text-anchor="end" class="label">${esc(r.label)}</text>`);
    r.values.forEach((v, k) => {
      if (v === null) return;
      marks++;
      const yy = y + k * bar;
      parts.push(`<rect x="${left}" y="${yy}" width="${Math.max(1, x(v)).toFixed(1)}" height="${bar - 2}" fill="${PALETTE[k % PALETTE.length]}"><title>${esc(`${r.label} · ${series[k]}: ${fmt(v)}${unit}`)}</title></rect>`);
      parts.push(`<text x="${left + Math.max(1, x(v)) + 4}" y="${yy + bar - 3}" class="value">${fmt(v)}${esc(unit)}</text>`);
    });
  });
  const yAxis = rows.length * group + 6;
  parts.push(`<text x="${left}" y="${yAxis + 14}" class="axis">0</text><text x="${left + x(max)}" y="${yAxis + 14}" text-anchor="end" class="axis">${fmt(max)}${esc(unit)}</text></svg>`);
  return figure(title, marks, parts.join(''), legendOf(series));
}

export interface TimeSeries {
  name: string;
  points: ReadonlyArray<readonly [t: number, v: number]>;
}

/** Lines over time, one per series, on a shared axis. */
export function lines(title: string, series: readonly TimeSeries[], unit = ''): string {
  const width = 720;
  const height = 200;
  const left = 64;
  const bottom = 22;
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return figure(title, 0, '');
  const t0 = Math.min(...all.map((p) => p[0]));
  const t1 = Math.max(t0 + 1, ...all.map((p) => p[0]));
  const max = niceMax(Math.max(...all.map((p) => p[1])));
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * (width - left - 10);
  const y = (v: number) => 8 + (1 - v / max) * (height - bottom - 8);
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}">`,
    `<line x1="${left}" x2="${width - 10}" y1="${y(0)}" y2="${y(0)}" stroke="#d5dbe4"/>`,
    `<text x="${left - 6}" y="${y(max) + 4}" text-anchor="end" class="axis">${fmt(max)}${esc(unit)}</text><text x="${left - 6}" y="${y(0)}" text-anchor="end" class="axis">0</text>`,
    `<text x="${left}" y="${height - 4}" class="axis">${esc(clock(t0))}</text><text x="${width - 10}" y="${height - 4}" text-anchor="end" class="axis">${esc(clock(t1))}</text>`];
  let marks = 0;
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    marks += s.points.length;
    const d = s.points.map((p, k) => `${k ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join('');
    parts.push(`<path d="${d}" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="1.6"><title>${esc(s.name)}</title></path>`);
  });
  parts.push('</svg>');
  return figure(title, marks, parts.join(''), legendOf(series.map((s) => s.name)));
}

/** Events as ticks on one lane per name (pool exhaustion, replacements). */
export function timeline(title: string, lanes: ReadonlyArray<{ name: string; events: ReadonlyArray<{ t: number; kind: string; reason: string }> }>, from: number, to: number): string {
  const width = 720;
  const lane = 24;
  const left = 110;
  const height = lanes.length * lane + 24;
  const x = (t: number) => left + ((t - from) / Math.max(1, to - from)) * (width - left - 10);
  const kinds = [...new Set(lanes.flatMap((l) => l.events.map((e) => e.kind)))].sort();
  let marks = 0;
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}">`];
  lanes.forEach((l, i) => {
    const y = i * lane + 4;
    parts.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end" class="label">${esc(l.name)}</text><line x1="${left}" x2="${width - 10}" y1="${y + 11}" y2="${y + 11}" stroke="#e3e7ee"/>`);
    for (const e of l.events) {
      marks++;
      parts.push(`<rect x="${(x(e.t) - 1.5).toFixed(1)}" y="${y + 2}" width="3" height="18" fill="${PALETTE[kinds.indexOf(e.kind) % PALETTE.length]}"><title>${esc(`${clock(e.t)} ${l.name} ${e.kind}: ${e.reason}`)}</title></rect>`);
    }
  });
  const yAxis = lanes.length * lane + 18;
  parts.push(`<text x="${left}" y="${yAxis}" class="axis">${esc(clock(from))}</text><text x="${width - 10}" y="${yAxis}" text-anchor="end" class="axis">${esc(clock(to))}</text></svg>`);
  return figure(title, marks, parts.join(''), legendOf(kinds));
}

export function clock(t: number): string {
  return new Date(t).toISOString().replace('T', ' ').slice(0, 19);
}
