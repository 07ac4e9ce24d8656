/**
 * Micro benchmark of the pool engine alone: warm acquire + release by 200
 * concurrent lessees on fake connections (no I/O), so the figure is the
 * engine's own cost. Bounded: ROUNDS rounds of LESSEES lessees each.
 * Run: npx tsx bench/pools-engine.ts
 */
import { ExclusivePool, MultiplexedPool, type PoolBase } from '../src/pools/index.js';
import { FakeFactory, type FakeConnection } from '../test/support/fake-factory.js';

const LESSEES = 200;
const ROUNDS = 50;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function run(label: string, pool: PoolBase<FakeConnection>): Promise<void> {
  pool.start();
  await pool.whenReady();
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(
      Array.from({ length: LESSEES }, async () => {
        const t0 = process.hrtime.bigint();
        const lease = await pool.acquire();
        samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
        await new Promise<void>((r) => setImmediate(r));
        lease.release();
      }),
    );
  }
  samples.sort((a, b) => a - b);
  const s = pool.stats();
  console.log(
    `${label}: ${samples.length} acquires, awaited p50 ${pct(samples, 50).toFixed(4)} ms p95 ${pct(samples, 95).toFixed(4)} ms p99 ${pct(samples, 99).toFixed(4)} ms;` +
      ` pool's own p50 ${s.acquireP50Ms.toFixed(4)} p95 ${s.acquireP95Ms.toFixed(4)} p99 ${s.acquireP99Ms.toFixed(4)} ms; size ${s.size}, opens ${s.opens}, exhausted ${s.exhausted}`,
  );
  await pool.destroy();
}

await run('exclusive (200 warm)', new ExclusivePool<FakeConnection>({ name: 'bench-exclusive', factory: new FakeFactory('bench:ex', 1), min: LESSEES, max: LESSEES + 50 }));
await run('multiplexed (capacity 5, 40 warm)', new MultiplexedPool<FakeConnection>({ name: 'bench-mux', factory: new FakeFactory('bench:mux', 5), min: LESSEES / 5, max: LESSEES / 5 + 10 }));
