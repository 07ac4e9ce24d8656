import { Counter, Gauge, type Registry } from 'prom-client';
import type { Rejection, Transport } from '../../sip/index.js';
import type { EarlyDropStats } from '../../sip/edge/index.js';
import type { Logger } from '../log.js';

/**
 * Every message or connection a SIP transport refuses, counted by reason in
 * `warmline_sip_rejected_total{reason}` and logged, at most one line per
 * reason per `logEveryMs` (a flood of garbage must not become a flood of
 * log lines; the line says how many it stands for).
 */
export class SipRejections {
  readonly #counter: Counter<'reason'> | undefined;
  readonly #log: Logger | undefined;
  readonly #every: number;
  readonly #lastLog = new Map<string, { at: number; suppressed: number }>();

  constructor(o: { registry?: Registry; log?: Logger; logEveryMs?: number }) {
    this.#counter = o.registry && new Counter({ name: 'warmline_sip_rejected_total', help: 'SIP messages and connections refused, by reason', labelNames: ['reason'], registers: [o.registry] });
    this.#log = o.log;
    this.#every = o.logEveryMs ?? 10_000;
  }

  watch(transports: readonly Transport[]): void {
    for (const t of transports) t.onReject = (r) => this.#record(r);
  }

  #record(r: Rejection): void {
    this.#counter?.inc({ reason: r.reason });
    if (!this.#log) return;
    const now = Date.now();
    const last = this.#lastLog.get(r.reason);
    if (last && now - last.at < this.#every) {
      last.suppressed++;
      return;
    }
    this.#lastLog.set(r.reason, { at: now, suppressed: 0 });
    this.#log.warn({ reason: r.reason, transport: r.transport, source: `${r.source.address}:${r.source.port}`, detail: r.detail, alsoSinceLastLine: last?.suppressed ?? 0 }, 'SIP refused');
  }
}

/** The edge's early drops (UDP datagrams refused before parsing), read at scrape time. */
export function earlyDropMetrics(registry: Registry, stats: () => EarlyDropStats): void {
  new Gauge({
    name: 'warmline_sip_early_dropped_total', help: 'UDP requests the edge dropped unparsed and unanswered: past twice the per-source rate, or a non-carrier\'s INVITE past one answer a second', labelNames: ['reason'], registers: [registry],
    collect() {
      const s = stats();
      this.set({ reason: 'rate' }, s.droppedRate);
      this.set({ reason: 'refused' }, s.droppedRefused);
    },
  });
}
