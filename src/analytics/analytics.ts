import type { Registry } from 'prom-client';
import type { AnalyticsConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { openStore, type AnalyticsStore } from './store.js';
import { RowWriter } from './row-writer.js';
import { Recorder, type RecorderSources, type RefusedCall, type WatchedPool } from './recorder.js';
import type { Call } from '../calls/index.js';

const DAY_MS = 86_400_000;
const RETRY_MS = 2000;

export interface AnalyticsOptions {
  log: Logger;
  registry?: Registry;
}

/**
 * The analytics of one gateway: the store, the writer in front of it, the
 * recorder that feeds both it and the dashboard. A store that cannot be
 * reached at start (PostgreSQL down) does not stop the gateway: migrations are
 * retried in the background and rows queue until they succeed.
 */
export class Analytics {
  readonly store: AnalyticsStore;
  readonly writer: RowWriter;
  readonly recorder: Recorder;
  readonly #config: AnalyticsConfig;
  readonly #log: Logger;
  #migrated: Promise<void>;
  #retry: NodeJS.Timeout | undefined;
  #purge: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(store: AnalyticsStore, config: AnalyticsConfig, o: AnalyticsOptions) {
    this.store = store;
    this.#config = config;
    this.#log = o.log;
    this.writer = new RowWriter(store, { queueMax: config.queueMax, batchMax: config.batchMax, flushMs: config.flushMs, log: o.log, ...(o.registry && { registry: o.registry }) });
    this.recorder = new Recorder(this.writer, config.snapshotMs);
    this.#migrated = this.#migrate();
  }

  static async open(config: AnalyticsConfig, o: AnalyticsOptions): Promise<Analytics> {
    const store = await openStore({ url: config.url, dataDir: config.dataDir, schema: config.schema });
    return new Analytics(store, config, o);
  }

  /** Resolves once the tables exist (tests; the report). */
  whenMigrated(): Promise<void> {
    return this.#migrated;
  }

  #migrate(): Promise<void> {
    return new Promise<void>((resolve) => {
      const attempt = (n: number) => {
        this.#retry = undefined;
        if (this.#closed) return resolve();
        this.store.migrate().then(() => {
          this.#log.info({ store: this.store.where }, 'analytics store ready');
          this.writer.start();
          this.#schedulePurge();
          resolve();
        }, (err: unknown) => {
          if (n === 1) this.#log.warn({ err, store: this.store.where }, 'analytics store unreachable at start: rows wait in the queue, retrying');
          this.#retry = setTimeout(() => attempt(n + 1), RETRY_MS);
          this.#retry.unref();
        });
      };
      attempt(1);
    });
  }

  #schedulePurge(): void {
    const purge = () => {
      const before = Date.now() - this.#config.retentionDays * DAY_MS;
      this.store.purge(before).then((n) => {
        if (n) this.#log.info({ rows: n, retentionDays: this.#config.retentionDays }, 'analytics rows past retention deleted');
      }, (err: unknown) => this.#log.warn({ err }, 'analytics retention purge failed; retried in an hour'));
    };
    purge();
    this.#purge = setInterval(purge, 3_600_000);
    this.#purge.unref();
  }

  watchPool(pool: WatchedPool): void {
    this.recorder.watchPool(pool);
  }

  onCall(call: Call, started: Promise<void>): void {
    this.recorder.onCall(call, started);
  }

  /** A call refused over its tenant's limit (src/tenants). */
  onRefused(r: RefusedCall): void {
    this.recorder.onRefused(r);
  }

  start(sources: RecorderSources): void {
    this.recorder.start(sources);
  }

  /** After the calls ended: a last snapshot, then every queued row written (bounded), then the store closed. */
  async close(deadlineMs = 10_000): Promise<void> {
    if (this.#closed) return;
    this.recorder.sample(true);
    this.recorder.stop();
    const end = Date.now() + deadlineMs;
    // Rows queued before the tables exist can only be written once they do.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#migrated, new Promise<void>((r) => { timer = setTimeout(r, deadlineMs); })]);
    clearTimeout(timer);
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    if (this.#purge) clearInterval(this.#purge);
    await this.writer.close(Math.max(0, end - Date.now()));
    await this.store.close();
  }
}
