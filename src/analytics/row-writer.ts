import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../log.js';
import type { AnalyticsStore } from './store.js';
import type { AnyRow } from './tables.js';

export interface RowWriterOptions {
  queueMax: number;
  batchMax: number;
  flushMs: number;
  registry?: Registry;
  log: Logger;
}

export interface RowWriterStats {
  queued: number;
  dropped: number;
  written: number;
  failures: number;
  storeUp: boolean;
}

/**
 * The only way rows reach the store. `push()` is what a call's path pays: an
 * array append, never I/O, never a wait, never a throw. A timer writes what
 * waits in batches; a batch leaves the queue only once the store took it, so a
 * store that is slow or down makes rows wait (up to `queueMax`, beyond which
 * new rows are dropped and counted) and they are written when it answers again.
 */
export class RowWriter {
  readonly #store: AnalyticsStore;
  readonly #o: RowWriterOptions;
  readonly #log: Logger;
  #queue: AnyRow[] = [];
  #head = 0;
  #dropped = 0;
  #written = 0;
  #failures = 0;
  #storeUp = true;
  #writing: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(store: AnalyticsStore, o: RowWriterOptions) {
    this.#store = store;
    this.#o = o;
    this.#log = o.log;
    if (o.registry) this.#metrics(o.registry);
  }

  get queued(): number {
    return this.#queue.length - this.#head;
  }

  push(row: AnyRow): void {
    if (this.queued >= this.#o.queueMax) {
      if (this.#dropped++ === 0) this.#log.warn({ queueMax: this.#o.queueMax, store: this.#store.where }, 'analytics queue full: new rows are dropped (counted in warmline_analytics_rows_dropped_total)');
      return;
    }
    this.#queue.push(row);
  }

  start(): void {
    if (this.#timer || this.#closed) return;
    // #run() owns store failures; anything else escaping it is a bug, logged, never a crash.
    this.#timer = setInterval(() => {
      this.#drain().catch((err: unknown) => this.#log.error({ err, store: this.#store.where }, 'analytics writer failed'));
    }, this.#o.flushMs);
    this.#timer.unref();
  }

  stats(): RowWriterStats {
    return { queued: this.queued, dropped: this.#dropped, written: this.#written, failures: this.#failures, storeUp: this.#storeUp };
  }

  /** Writes what waits now; resolves when the queue is empty, or false once `deadlineMs` passed with rows left. */
  async flush(deadlineMs = 10_000): Promise<boolean> {
    const end = Date.now() + deadlineMs;
    while (this.queued > 0 && Date.now() < end) {
      const before = this.#written;
      await this.#drain();
      // The store refused: wait a little before asking again, within the deadline.
      if (this.#written === before && this.queued > 0) await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, end - Date.now()))));
    }
    return this.queued === 0;
  }

  /** SIGTERM: stop the timer, write what was queued (bounded by `deadlineMs`), say what could not be. */
  async close(deadlineMs = 10_000): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    const ok = await this.flush(deadlineMs);
    if (!ok) this.#log.error({ rows: this.queued, store: this.#store.where }, 'analytics store did not take the queued rows before exit: they are lost');
  }

  /** One writer at a time; batches in order until the queue is empty or the store fails. */
  #drain(): Promise<void> {
    if (this.#writing) return this.#writing;
    this.#writing = this.#run().finally(() => { this.#writing = undefined; });
    return this.#writing;
  }

  async #run(): Promise<void> {
    while (this.queued > 0) {
      const batch = this.#queue.slice(this.#head, this.#head + this.#o.batchMax);
      try {
        await this.#store.write(batch);
      } catch (err) {
        this.#failures++;
        if (this.#storeUp) this.#log.warn({ err, store: this.#store.where, queued: this.queued }, 'analytics store not writable: rows wait in the queue');
        this.#storeUp = false;
        return;
      }
      if (!this.#storeUp) this.#log.info({ store: this.#store.where, queued: this.queued }, 'analytics store writable again');
      this.#storeUp = true;
      this.#head += batch.length;
      this.#written += batch.length;
      // Drop the consumed prefix once it dominates, so the array never grows without bound.
      if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      // Between batches, let the event loop serve whatever is due (a pacer tick, a packet).
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  #metrics(registry: Registry): void {
    const stats = () => this.stats();
    new Gauge({ name: 'warmline_analytics_rows_queued', help: 'Analytics rows waiting for the store', registers: [registry], collect() { this.set(stats().queued); } });
    new Gauge({ name: 'warmline_analytics_store_up', help: '1 while the analytics store takes writes', registers: [registry], collect() { this.set(stats().storeUp ? 1 : 0); } });
    const counter = (name: string, help: string, value: () => number) => {
      let seen = 0;
      new Counter({ name, help, registers: [registry], collect() { const v = value(); this.inc(v - seen); seen = v; } });
    };
    counter('warmline_analytics_rows_dropped_total', 'Analytics rows dropped because the queue was full', () => stats().dropped);
    counter('warmline_analytics_rows_written_total', 'Analytics rows the store took', () => stats().written);
    counter('warmline_analytics_write_failures_total', 'Analytics batches the store refused (retried)', () => stats().failures);
  }
}
