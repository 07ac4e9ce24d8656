import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DemandForecast, openStore, type AnalyticsStore, type AnyRow } from '../../../src/analytics/index.js';
import { ExclusivePool, PoolSet, type PoolBase } from '../../../src/pools/index.js';
import { FakeFactory, until, type FakeConnection } from '../../support/fake-factory.js';

const WEEK = 7 * 86_400_000;
const MIN = 60_000;
const NOW = Date.UTC(2026, 10, 30, 8, 45); // a Monday, 08:45

let seq = 0;
const snapshot = (key: string, at: number, inUse: number): AnyRow => ({
  table: 'pool_snapshots',
  row: {
    id: `s${++seq}`, at, replica: 'r1', pool: 'asr', upstream: 'asr', pool_key: key, state: 'ready', size: 2, idle: 2 - Math.min(2, inUse), in_use: inUse,
    target: 2, pending: 0, acquire_p50_ms: 0, acquire_p95_ms: 0, acquire_p99_ms: 0, opens: 2, closes: 0, replacements: 0, keepalive_failures: 0, exhausted: 0,
  },
});

/**
 * pools.historyWeeks: a key that went to zero comes back to its floor before its usual peak,
 * learned from the pool snapshots in a real SQLite store: Mondays at 09:00 it had calls for three
 * weeks, so at 08:45 (historyLeadS 15 min ahead) its floor is back before any call asks for it.
 */
describe('analytics: pools warm again before their peak, from the store\'s history', function () {
  this.timeout(20_000);
  const dir = mkdtempSync(join(tmpdir(), 'wl-forecast-'));
  let store: AnalyticsStore;
  const made: PoolBase<FakeConnection>[] = [];

  before(async () => {
    store = await openStore({ url: '', dataDir: dir, schema: '' });
    await store.migrate();
    await store.write([
      // Mondays 09:00–09:30, the last three weeks: the morning key had up to 3 calls.
      ...[1, 2, 3].flatMap((k) => [0, 10, 20, 30].map((m) => snapshot('asr:morning', NOW - k * WEEK + (15 + m) * MIN, m === 0 && k === 2 ? 3 : 1))),
      // The evening key: calls on Mondays at 18:00, idle snapshots at 09:00 (in_use 0 is no demand).
      ...[1, 2].map((k) => snapshot('asr:evening', NOW - k * WEEK + 9 * 60 * MIN, 2)),
      ...[1, 2].map((k) => snapshot('asr:evening', NOW - k * WEEK + 15 * MIN, 0)),
      // Five weeks ago: beyond historyWeeks (4), not counted.
      snapshot('asr:old', NOW - 5 * WEEK + 15 * MIN, 4),
    ]);
  });
  after(async () => {
    for (const p of made.splice(0)) p.destroy();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('expects a key whose pool had calls at this time of the week within the lead, with its peak', async () => {
    const f = new DemandForecast(store, { weeks: 4, leadMs: 15 * MIN, now: () => NOW });
    await f.refresh();
    assert.equal(f.expected('asr:morning'), 3, 'the 09:00 peak, 15 min ahead');
    assert.equal(f.expected('asr:evening'), 0, 'its calls are hours away; idle snapshots are no demand');
    assert.equal(f.expected('asr:old'), 0, 'older than the weeks looked at');
    const early = new DemandForecast(store, { weeks: 4, leadMs: 5 * MIN, now: () => NOW });
    await early.refresh();
    assert.equal(early.expected('asr:morning'), 0, 'with a 5 min lead, 08:45 is too early');
  });

  it('a zeroed key gets its floor back before the peak, and is not dropped while the peak is near', async () => {
    let now = NOW - 2 * 60 * MIN; // 06:45: nothing expected yet
    const forecast = new DemandForecast(store, { weeks: 4, leadMs: 15 * MIN, now: () => now });
    await forecast.refresh();
    const set = new PoolSet<FakeConnection>((factory) => {
      const p = new ExclusivePool({ name: 'asr', factory, min: 2, max: 4 });
      made.push(p);
      return p;
    }, { idleToZeroMs: 30 * MIN, now: () => now, demandSoon: (k) => forecast.expected(k) > 0 });
    const morning = new FakeFactory('asr:morning');
    const evening = new FakeFactory('asr:evening');
    const pm = set.get(morning);
    const pe = set.get(evening);
    await Promise.all([pm.whenReady(), pe.whenReady()]);
    now += 60 * MIN; // 07:45, an hour without calls: both drop to zero
    set.sweep();
    assert.deepEqual([...set.zeroed().keys()].sort(), ['asr:evening', 'asr:morning']);
    await until(() => morning.live.length === 0, 'the morning key at zero');
    now = NOW; // 08:45: the forecast is read again, as the gateway does every minute
    await forecast.refresh();
    set.sweep();
    assert.equal(pm.min, 2, 'the morning key is back at its floor, before any call');
    await until(() => morning.live.length === 2, 'the morning key warm again');
    assert.equal(pe.min, 0, 'the evening key stays at zero: no demand expected now');
    assert.deepEqual([...set.zeroed().keys()], ['asr:evening']);
    await set.close();
  });

  it('a forecast stopped before it started (analytics closed before its migration settled) never reads the store', async () => {
    const query = store.query;
    let reads = 0;
    store.query = ((sql: string, params?: Parameters<typeof query>[1]) => { reads++; return query.call(store, sql, params); }) as typeof store.query;
    try {
      const f = new DemandForecast(store, { weeks: 4, leadMs: 15 * MIN, now: () => NOW });
      f.stop();
      f.start(60_000, (err) => assert.fail(String(err)));
      assert.equal(reads, 0, 'no refresh, no timer after stop()');
      f.stop();
    } finally {
      store.query = query;
    }
  });
});
