import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { PoolBase } from './pool-base.js';
import type { PoolStats } from './pool-stats.js';
import type { PooledConnection } from './types.js';

type AnyPool = PoolBase<PooledConnection>;
const labelNames = ['pool', 'upstream', 'key'] as const;
type Label = (typeof labelNames)[number];

const labelsOf = (s: PoolStats) => ({ pool: s.name, upstream: s.upstream, key: s.key });

/**
 * Prometheus series for pools, on the registry given (never the global one).
 * Everything is read when Prometheus scrapes (prom-client's collect()): gauges
 * and counters from stats(), the latency histogram from the samples each pool
 * recorded since the last scrape. The acquire path pays nothing for metrics.
 */
export class PoolMetrics {
  readonly #pools = new Set<AnyPool>();

  constructor(registry: Registry) {
    const pools = this.#pools;
    const gauge = (name: string, help: string, value: (s: PoolStats) => number) =>
      new Gauge<Label>({
        name, help, labelNames, registers: [registry],
        collect() {
          for (const p of pools) {
            const s = p.stats();
            this.set(labelsOf(s), value(s));
          }
        },
      });
    // stats() counts since start; a Prometheus counter is fed the increase since the last scrape.
    const counter = (name: string, help: string, value: (s: PoolStats) => number) => {
      const last = new WeakMap<AnyPool, number>();
      return new Counter<Label>({
        name, help, labelNames, registers: [registry],
        collect() {
          for (const p of pools) {
            const s = p.stats();
            const v = value(s);
            this.inc(labelsOf(s), Math.max(0, v - (last.get(p) ?? 0)));
            last.set(p, v);
          }
        },
      });
    };
    gauge('warmline_pool_size', 'Open connections in the pool', (s) => s.size);
    gauge('warmline_pool_idle', 'Connections carrying no lease', (s) => s.idle);
    gauge('warmline_pool_in_use', 'Leases out', (s) => s.inUse);
    gauge('warmline_pool_pending', 'acquire() calls waiting', (s) => s.pending);
    gauge('warmline_pool_target', 'Target size from observed concurrency and headroom', (s) => s.target);
    gauge('warmline_pool_ready', '1 while the warm floor is open', (s) => (s.ready ? 1 : 0));
    gauge('warmline_pool_acquire_p95_seconds', 'p95 acquisition latency over the recent window', (s) => s.acquireP95Ms / 1000);
    gauge('warmline_pool_acquire_slow', '1 while acquisition p95 exceeds 5 ms (a warning is logged too)', (s) => (s.acquireSlow ? 1 : 0));
    counter('warmline_pool_opens_total', 'Connections opened', (s) => s.opens);
    counter('warmline_pool_closes_total', 'Connections closed', (s) => s.closes);
    counter('warmline_pool_replacements_total', 'Connections opened to replace one that died, failed a check or aged out', (s) => s.replacements);
    counter('warmline_pool_open_failures_total', 'Failed opens', (s) => s.openFailures);
    counter('warmline_pool_keepalive_failures_total', 'Keepalives that failed or timed out', (s) => s.keepaliveFailures);
    counter('warmline_pool_exhausted_total', 'acquire() calls that timed out with nothing free', (s) => s.exhausted);
    const cursor = new WeakMap<AnyPool, number>();
    new Histogram<Label>({
      name: 'warmline_pool_acquire_seconds',
      help: 'Time acquire() took',
      labelNames,
      // Warm acquisitions take microseconds; waits for an open take a round trip or more.
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
      collect() {
        for (const p of pools) {
          const labels = { pool: p.name, upstream: p.factory.upstream, key: p.factory.key };
          cursor.set(p, p.acquireSamplesSince(cursor.get(p) ?? 0, (ms) => this.observe(labels, ms / 1000)));
        }
      },
    });
  }

  add(pool: AnyPool): void {
    this.#pools.add(pool);
  }

  delete(pool: AnyPool): void {
    this.#pools.delete(pool);
  }
}
