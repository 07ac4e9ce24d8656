import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import {
  ExclusivePool, MultiplexedPool, PoolSet, PoolMetrics, PoolExhaustedError, PoolClosedError, PoolOptionsError,
  type CapacityGate, type CapacitySlot, type PoolBase,
} from '../../../src/pools/index.js';
import { FakeFactory, PermanentError, sleep, until, type FakeConnection } from '../../support/fake-factory.js';

const pools: PoolBase<FakeConnection>[] = [];
function track<P extends PoolBase<FakeConnection>>(p: P): P {
  pools.push(p);
  return p;
}
afterEach(() => {
  for (const p of pools.splice(0)) p.destroy();
});

describe('pools: options are checked first', () => {
  const factory = new FakeFactory();
  it('refuses a negative min, min > max, a negative headroom, with the option named', () => {
    assert.throws(() => new ExclusivePool({ name: 'a', factory, min: -1, max: 2 }), (e: Error) => e instanceof PoolOptionsError && /option min is -1/.test(e.message));
    assert.throws(() => new ExclusivePool({ name: 'a', factory, min: 3, max: 2 }), (e: Error) => e instanceof PoolOptionsError && /at most max \(2\)/.test(e.message));
    assert.throws(() => new ExclusivePool({ name: 'a', factory, min: 0, max: 2, headroom: -0.5 }), PoolOptionsError);
    assert.throws(() => new ExclusivePool({ name: 'a', factory, min: 0, max: 0 }), PoolOptionsError);
    assert.throws(() => new ExclusivePool({ name: '', factory, min: 0, max: 1 }), PoolOptionsError);
  });
});

describe('pools: ExclusivePool', () => {
  it('opens the warm floor at start and is ready only then', async () => {
    const f = new FakeFactory();
    f.openDelayMs = 20;
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 3, max: 10 }));
    assert.equal(pool.ready, false);
    pool.start();
    assert.equal(pool.ready, false);
    await pool.whenReady();
    assert.equal(pool.ready, true);
    assert.equal(pool.stats().size, 3);
    assert.equal(pool.stats().state, 'ready');
  });

  it('a floor of 0 is ready at once and opens on first acquire (the caller waits: a cold lease)', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 0, max: 2 }));
    pool.start();
    await pool.whenReady();
    assert.equal(pool.ready, true);
    assert.equal(pool.stats().size, 0);
    const lease = await pool.acquire();
    assert.equal(lease.waited, true);
    assert.ok(f.attempts >= 1, 'opened on demand');
    lease.release();
  });

  it('acquire from a warm idle connection opens nothing and hands one connection to one lessee', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 2, max: 2, headroom: 0 }));
    pool.start();
    await pool.whenReady();
    const before = f.attempts;
    const a = await pool.acquire();
    const b = await pool.acquire();
    assert.notEqual(a.conn, b.conn);
    assert.equal(a.waited, false);
    assert.equal(f.attempts, before);
    assert.equal(pool.stats().inUse, 2);
    a.release();
    await until(() => pool.stats().inUse === 1 && pool.stats().idle === 1, 'release');
    assert.deepEqual(a.conn.resets, [a.id]);
    const c = await pool.acquire();
    assert.equal(c.conn, a.conn, 'a clean connection is reused');
  });

  it('a connection that is not clean after use is destroyed and replaced in the background', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'tts', factory: f, min: 1, max: 2, headroom: 0 }));
    pool.start();
    await pool.whenReady();
    f.resetClean = false;
    const a = await pool.acquire();
    a.release();
    await until(() => pool.stats().replacements === 1 && pool.stats().idle === 1, 'replacement');
    assert.equal(a.conn.closed, true);
    const b = await pool.acquire();
    assert.notEqual(b.conn, a.conn);
  });

  it('a connection the peer closes while idle is replaced before the next acquire, which never sees it', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 2, max: 4, headroom: 0 }));
    pool.start();
    await pool.whenReady();
    const [dead] = f.live;
    dead!.peerClose();
    await until(() => pool.stats().size === 2 && pool.stats().replacements === 1, 'replacement');
    for (let i = 0; i < 2; i++) {
      const l = await pool.acquire();
      assert.notEqual(l.conn, dead);
      assert.equal(l.conn.usable, true);
    }
  });

  it('a connection that dies while leased tells its lessee and is replaced', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 1, max: 2, headroom: 0 }));
    pool.start();
    await pool.whenReady();
    const lease = await pool.acquire();
    const lost = new Promise<Error>((resolve) => lease.on('lost', resolve));
    lease.conn.peerClose();
    const err = await lost;
    assert.match(err.message, /lost while leased: peer closed/);
    assert.equal((err as { code?: string }).code, 'WL_ERR_CONNECTION_LOST');
    assert.equal(lease.active, false);
    await until(() => pool.stats().size === 1 && pool.stats().inUse === 0, 'replacement');
    lease.release(); // a late release after loss is harmless
    assert.equal(pool.stats().inUse, 0);
  });

  it('when exhausted, waits a bounded time, counts it and fails with a typed error', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 1, max: 1, acquireTimeoutMs: 100 }));
    pool.start();
    await pool.whenReady();
    await pool.acquire();
    const started = Date.now();
    await assert.rejects(pool.acquire(), (e: Error) => e instanceof PoolExhaustedError && e.code === 'WL_ERR_POOL_EXHAUSTED' && /size 1 of max 1/.test(e.message));
    assert.ok(Date.now() - started >= 90, 'waited for the timeout');
    assert.equal(pool.stats().exhausted, 1);
    assert.equal(f.attempts, 1, 'never opens beyond max');
  });

  it('a waiter gets the next released connection, first come first served', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 1, max: 1, acquireTimeoutMs: 2000 }));
    pool.start();
    await pool.whenReady();
    const held = await pool.acquire();
    const order: number[] = [];
    const w1 = pool.acquire().then((l) => { order.push(1); l.release(); });
    const w2 = pool.acquire().then((l) => { order.push(2); l.release(); });
    await until(() => pool.stats().pending === 2, 'both acquirers queued');
    held.release();
    await Promise.all([w1, w2]);
    assert.deepEqual(order, [1, 2]);
  });

  it('grows toward peak concurrency plus headroom, in the background, within max', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 1, max: 20, headroom: 0.5 }));
    pool.start();
    await pool.whenReady();
    const leases = await Promise.all(Array.from({ length: 8 }, () => pool.acquire()));
    // peak 8 × 1.5 = 12 connections
    await until(() => pool.stats().size === 12, 'growth to 12', 3000);
    assert.equal(pool.stats().target, 12);
    for (const l of leases) l.release();
    await until(() => pool.stats().idle === 12, 'resets after release');
    // the next burst of 8 is served warm
    const again = await Promise.all(Array.from({ length: 8 }, () => pool.acquire()));
    assert.ok(again.every((l) => !l.waited));
  });

  it('opening failures back off with jitter instead of retrying hot, and recover', async () => {
    const f = new FakeFactory();
    f.failWith = new Error('ECONNREFUSED');
    const pool = track(new ExclusivePool({ name: 'llm', factory: f, min: 2, max: 2, backoff: { initialMs: 20, maxMs: 200, factor: 2 } }));
    const failedAt: number[] = [];
    pool.on('open-failed', () => failedAt.push(performance.now()));
    pool.start();
    await until(() => failedAt.length >= 5, 'five failed opens');
    assert.equal(pool.ready, false);
    // Retrying hot, five attempts take well under a millisecond; with full-jitter backoff the four
    // waits are uniform in [1, 20], [1, 40], [1, 80], [1, 160] ms: under 10 ms together has odds ~4e-5.
    assert.ok(failedAt[4]! - failedAt[0]! >= 10, `five attempts in ${(failedAt[4]! - failedAt[0]!).toFixed(1)} ms`);
    // After a failure the pool probes with one open at a time, never a burst.
    assert.ok(f.attempts <= failedAt.length + 1, `attempts ${f.attempts}, failures ${failedAt.length}`);
    assert.match(pool.stats().lastError ?? '', /ECONNREFUSED/);
    f.failWith = undefined;
    await pool.whenReady();
    assert.equal(pool.stats().size, 2);
  });

  it('a permanent error (rejected key) is logged once and retried only at the longest interval', async () => {
    const f = new FakeFactory();
    f.failWith = new PermanentError('401 invalid API key');
    const logged: string[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error(_o: object, msg: string) { logged.push(msg); } };
    const pool = track(new ExclusivePool({ name: 'tts', factory: f, min: 1, max: 2, logger, acquireTimeoutMs: 30, backoff: { initialMs: 5, maxMs: 10_000 } }));
    pool.start();
    await until(() => pool.state === 'failed', 'the failed state');
    // Waiting acquirers are what would drive a reconnect loop: each one asks the pool to grow.
    for (let i = 0; i < 5; i++) await assert.rejects(pool.acquire(), PoolExhaustedError);
    assert.equal(f.attempts, 1, 'no reconnect loop');
    assert.equal(pool.state, 'failed');
    assert.equal(logged.length, 1);
  });

  it('keepalive runs on idle connections; a failing one is evicted, counted and replaced', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 2, max: 2, keepaliveMs: 40 }));
    pool.start();
    await pool.whenReady();
    await until(() => f.live.every((c) => c.keepalives >= 2), 'keepalives');
    f.keepaliveFails = true;
    await until(() => pool.stats().keepaliveFailures >= 1, 'a keepalive failure');
    f.keepaliveFails = false;
    await until(() => pool.stats().size === 2 && pool.stats().replacements >= 1, 'replacement');
  });

  it('a keepalive that never answers times out and is replaced', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 1, max: 1, keepaliveMs: 30, keepaliveTimeoutMs: 50 }));
    pool.start();
    await pool.whenReady();
    f.keepaliveHangs = true;
    await until(() => pool.stats().keepaliveFailures >= 1, 'keepalive timeout');
  });

  it('connections past maxAge are retired and replaced', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'crm', factory: f, min: 1, max: 1, maxAgeMs: 100 }));
    pool.start();
    await pool.whenReady();
    const first = f.opened[0]!;
    await until(() => first.closed && pool.stats().size === 1, 'retirement', 5000);
    assert.ok(pool.stats().replacements >= 1);
  });

  it('warns and raises the slow flag when acquisition p95 passes 5 ms', async () => {
    const f = new FakeFactory();
    f.openDelayMs = 15;
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, error() {}, warn(_o: object, msg: string) { warnings.push(msg); } };
    // max 1 and slow opens: every other acquire waits for a release or a replacement
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 1, max: 1, logger, slowCheckMs: 20, acquireTimeoutMs: 2000 }));
    pool.start();
    await pool.whenReady();
    // Each lessee works 8 ms (the workload, not a wait for anything) so that the others queue.
    const hold = async () => { const l = await pool.acquire(); await sleep(8); l.release(); };
    await Promise.all(Array.from({ length: 30 }, hold));
    await until(() => pool.stats().acquireSlow, 'the slow flag');
    assert.ok(pool.stats().acquireP95Ms > 5);
    assert.ok(warnings.some((w) => /acquisition p95 above 5 ms/.test(w)));
  });

  it('takes a capacity slot before each open, holds the size to the gate, releases slots on close', async () => {
    const f = new FakeFactory();
    let held = 0;
    const gate: CapacityGate = {
      async tryTake() {
        if (held >= 2) return undefined;
        held++;
        let released = false;
        const slot: CapacitySlot = { id: `s${held}`, release() { if (!released) { released = true; held--; } }, onLost() {} };
        return slot;
      },
    };
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 1, max: 5, gate, acquireTimeoutMs: 150 }));
    pool.start();
    await pool.whenReady();
    const leases = [await pool.acquire(), await pool.acquire()];
    await assert.rejects(pool.acquire(), PoolExhaustedError);
    assert.equal(pool.stats().size, 2);
    for (const l of leases) l.release();
    await pool.close();
    assert.equal(held, 0);
  });

  it('a lost capacity slot closes its connection', async () => {
    const f = new FakeFactory();
    let lose: ((e: Error) => void) | undefined;
    const gate: CapacityGate = { async tryTake() { return { id: 's', release() {}, onLost(l) { lose ??= l; } }; } };
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 1, max: 1, gate }));
    pool.start();
    await pool.whenReady();
    const lease = await pool.acquire();
    const lost = new Promise<Error>((r) => lease.on('lost', r));
    lose!(new Error('lease expired'));
    assert.match((await lost).message, /lease expired/);
  });

  it('close() fails waiters with WL_ERR_POOL_CLOSED and refuses new acquires; it is idempotent', async () => {
    const f = new FakeFactory();
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 1, max: 1, closeGraceMs: 50 }));
    pool.start();
    await pool.whenReady();
    const held = await pool.acquire();
    const waiting = pool.acquire();
    const closing = pool.close();
    await assert.rejects(waiting, PoolClosedError);
    held.release();
    await closing;
    await pool.close();
    await assert.rejects(pool.acquire(), (e: Error) => e instanceof PoolClosedError && e.code === 'WL_ERR_POOL_CLOSED');
    assert.ok(f.opened.every((c) => c.closed));
  });
});

describe('pools: MultiplexedPool', () => {
  it('spreads leases over connections and never exceeds a connection\'s capacity', async () => {
    const f = new FakeFactory('h2:llm', 3);
    const pool = track(new MultiplexedPool({ name: 'llm', factory: f, min: 2, max: 2, headroom: 0, acquireTimeoutMs: 100 }));
    pool.start();
    await pool.whenReady();
    const leases = await Promise.all(Array.from({ length: 6 }, () => pool.acquire()));
    const per = new Map<FakeConnection, number>();
    for (const l of leases) per.set(l.conn, (per.get(l.conn) ?? 0) + 1);
    assert.deepEqual([...per.values()].sort(), [3, 3]);
    await assert.rejects(pool.acquire(), PoolExhaustedError);
    assert.equal(pool.stats().capacity, 6);
  });

  it('sizes in connections: peak streams × headroom ÷ capacity', async () => {
    const f = new FakeFactory('tts:multi', 5);
    const pool = track(new MultiplexedPool({ name: 'tts', factory: f, min: 1, max: 10, headroom: 0.25 }));
    pool.start();
    await pool.whenReady();
    await Promise.all(Array.from({ length: 5 }, () => pool.acquire()));
    // 5 × 1.25 = 6.25 contexts → 2 sockets of 5
    await until(() => pool.stats().size === 2 && pool.stats().opening === 0, 'growth to 2 sockets');
    // The target is what growth aims at: at 2, nothing more opens.
    assert.equal(pool.stats().target, 2);
    assert.equal(pool.stats().size, 2);
  });

  it('keeps sessions with streams open alive too (HTTP/2 PING is harmless then)', async () => {
    const f = new FakeFactory('h2:crm', 10);
    const pool = track(new MultiplexedPool({ name: 'crm', factory: f, min: 1, max: 1, keepaliveMs: 30 }));
    pool.start();
    await pool.whenReady();
    const lease = await pool.acquire();
    const before = lease.conn.keepalives;
    await until(() => lease.conn.keepalives >= before + 2, 'keepalive while leased');
  });
});

describe('pools: PoolSet', () => {
  it('never hands a connection opened for one key to another', async () => {
    const set = new PoolSet<FakeConnection>((factory) => track(new ExclusivePool({ name: 'asr', factory, min: 1, max: 2 })));
    const en = new FakeFactory('asr:en-US');
    const de = new FakeFactory('asr:de-DE');
    const pEn = set.get(en);
    const pDe = set.get(de);
    assert.notEqual(pEn, pDe);
    assert.equal(set.get(en), pEn);
    await Promise.all([pEn.whenReady(), pDe.whenReady()]);
    const a = await pEn.acquire();
    const b = await pDe.acquire();
    assert.ok(en.opened.includes(a.conn));
    assert.ok(de.opened.includes(b.conn));
    assert.equal(set.stats().length, 2);
    a.release();
    b.release();
    await set.close();
    assert.ok([...en.opened, ...de.opened].every((c) => c.closed));
  });
});

describe('pools: metrics', () => {
  it('exposes size, idle, in-use, latency histogram and counters per pool', async () => {
    const registry = new Registry();
    const metrics = new PoolMetrics(registry);
    const f = new FakeFactory('asr:x');
    const pool = track(new ExclusivePool({ name: 'asr', factory: f, min: 2, max: 2 }));
    metrics.add(pool as never);
    pool.start();
    await pool.whenReady();
    const l = await pool.acquire();
    const text = await registry.metrics();
    assert.match(text, /warmline_pool_size\{pool="asr",upstream="fake",key="asr:x"\} 2/);
    assert.match(text, /warmline_pool_in_use\{pool="asr",upstream="fake",key="asr:x"\} 1/);
    assert.match(text, /warmline_pool_idle\{pool="asr",upstream="fake",key="asr:x"\} 1/);
    assert.match(text, /warmline_pool_opens_total\{pool="asr",upstream="fake",key="asr:x"\} 2/);
    assert.match(text, /warmline_pool_acquire_seconds_count\{pool="asr",upstream="fake",key="asr:x"\} 1/);
    assert.match(text, /warmline_pool_exhausted_total\{pool="asr",upstream="fake",key="asr:x"\} 0/);
    l.release();
    await pool.acquire();
    const again = await registry.metrics();
    assert.match(again, /warmline_pool_acquire_seconds_count\{pool="asr",upstream="fake",key="asr:x"\} 2/);
    assert.match(again, /warmline_pool_opens_total\{pool="asr",upstream="fake",key="asr:x"\} 2/, 'counters do not double on a second scrape');
  });
});
