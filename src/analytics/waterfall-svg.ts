/**
 * A turn waterfall as SVG: one row per turn, one bar per stage from the
 * caller's end of speech, so the first turn (which a cold gateway would make
 * slow) sits beside the later ones on one time axis.
 */
export interface TurnView {
  turn: number;
  outcome: string;
  marks: Partial<Record<string, number>>;
  acquireMs: Record<string, number>;
  connectionsOpened: number;
}

export const STAGES: ReadonlyArray<{ from: string; to: string; label: string; color: string }> = [
  { from: 'speechEnd', to: 'asrFinal', label: 'ASR final', color: '#5b8def' },
  { from: 'asrFinal', to: 'llmFirstToken', label: 'LLM first token', color: '#9b6ce0' },
  { from: 'llmFirstToken', to: 'ttsFirstAudio', label: 'TTS first audio', color: '#e08a3c' },
  { from: 'ttsFirstAudio', to: 'firstRtpOut', label: 'first RTP out', color: '#2bb37a' },
  { from: 'firstRtpOut', to: 'done', label: 'playing', color: '#c9d3e0' },
];

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

function niceStep(max: number): number {
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? raw;
}

/** The previous reached mark before `to`, so a skipped mark (a greeting has no ASR) does not break a bar. */
function startOf(marks: TurnView['marks'], stage: number): number | undefined {
  for (let i = stage; i >= 0; i--) {
    const v = marks[STAGES[i]!.from];
    if (v !== undefined) return v;
  }
  return 0;
}

export function waterfallSvg(turns: readonly TurnView[], width = 760): string {
  if (turns.length === 0) return '<p class="empty">This call has no finished turn yet.</p>';
  const left = 128;
  const right = 16;
  const row = 26;
  const top = 8;
  const axis = 22;
  const max = Math.max(1, ...turns.map((t) => Math.max(...Object.values(t.marks).filter((v): v is number => v !== undefined))));
  const x = (ms: number) => left + (ms / max) * (width - left - right);
  const height = top + turns.length * row + axis;
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" data-bars="BARS">`];
  let bars = 0;
  turns.forEach((t, i) => {
    const y = top + i * row;
    const name = t.turn === 1 ? 'turn 1 (first)' : `turn ${t.turn}`;
    parts.push(`<text x="4" y="${y + 16}">${esc(name)}</text>`);
    STAGES.forEach((s, k) => {
      const end = t.marks[s.to];
      if (end === undefined) return;
      const start = startOf(t.marks, k) ?? 0;
      const w = Math.max(1.5, x(end) - x(start));
      bars++;
      parts.push(`<rect x="${x(start).toFixed(1)}" y="${y + 5}" width="${w.toFixed(1)}" height="${row - 10}" fill="${s.color}" rx="2"><title>${esc(`${name}: ${s.label} at ${end.toFixed(1)} ms`)}</title></rect>`);
    });
    const response = t.marks.firstRtpOut;
    const note = `${response !== undefined ? `${Math.round(response)} ms` : t.outcome}${t.connectionsOpened ? ` · ${t.connectionsOpened} opened` : ''}`;
    parts.push(`<text x="${width - right}" y="${y + 16}" text-anchor="end" fill="#6b7686">${esc(note)}</text>`);
  });
  const step = niceStep(max);
  const yAxis = top + turns.length * row;
  parts.push(`<g class="axis"><line x1="${left}" x2="${width - right}" y1="${yAxis}" y2="${yAxis}" stroke="#e3e7ee"/>`);
  for (let v = 0; v <= max + 1e-9; v += step) parts.push(`<text x="${x(v)}" y="${yAxis + 15}" text-anchor="middle">${v >= 1000 ? `${(v / 1000).toFixed(v % 1000 ? 1 : 0)} s` : `${Math.round(v)} ms`}</text>`);
  parts.push('</g></svg>');
  const legend = `<div class="legend">${STAGES.map((s) => `<span><i style="background:${s.color}"></i>${s.label}</span>`).join('')}</div>`;
  return parts.join('').replace('BARS', String(bars)) + legend;
}
