import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { until } from '../../support/wait.js';
import { LeaseLostError, RedisLeaseStore } from '../../../src/leases/index.js';
import { createLeaseGate } from '../../../src/boot/lease-gate.js';

describe('leases: lease gate on Redis', function () {
  this.timeout(10_000);
  const prefix = `wltest:${randomUUID()}:`;
  let store: RedisLeaseStore;
  before(async () => { store = new RedisLeaseStore({ prefix }); await store.ready(); });
  after(async () => {
    const keys = await store.redis.keys(`${prefix}*`);
    if (keys.length) await store.redis.del(...keys);
    await store.close();
  });

  it('caps slots across two replicas, keeps them alive past the TTL, frees them on release', async () => {
    const a = createLeaseGate({ store, provider: 'dg', limit: 3, ttlMs: 300, replicaId: 'A' });
    const b = createLeaseGate({ store, provider: 'dg', limit: 3, ttlMs: 300, replicaId: 'B' });
    try {
      const sa = [await a.tryTake(), await a.tryTake()];
      const sb = [await b.tryTake(), await b.tryTake()];
      assert.ok(sa.every(Boolean));
      assert.equal(sb.filter(Boolean).length, 1);
      // Each slot's expiry (its score in the slots set) must move past where the first one ended:
      // renewed after its first TTL ran out, by the heartbeat alone.
      const expiries = async () => (await store.redis.zrange(`${prefix}s:dg`, '0', '-1', 'WITHSCORES')).filter((_, i) => i % 2 === 1).map(Number);
      const firstEnd = Math.max(...(await expiries()));
      await until(async () => { const e = await expiries(); return e.length === 3 && Math.min(...e) > firstEnd + 300; }, 'every slot renewed past its first TTL');
      assert.equal(await store.semaphoreCount('dg'), 3, 'renewals kept the slots');
      sa[0]!.release();
      await until(async () => (await store.semaphoreCount('dg')) === 2, 'the released slot back in the store');
      assert.ok(await b.tryTake());
    } finally { await a.close(); await b.close(); }
  });

  it('a slot taken from under the holder is reported lost', async () => {
    const gate = createLeaseGate({ store, provider: 'dg2', limit: 1, ttlMs: 300, replicaId: 'A' });
    try {
      const slot = await gate.tryTake();
      assert.ok(slot);
      const lost = new Promise<Error>((resolve) => slot.onLost(resolve));
      await store.redis.del(`${prefix}s:dg2`);
      const reason = await lost;
      assert.ok(reason instanceof LeaseLostError);
    } finally { await gate.close(); }
  });
});

describe('leases: lease gate after a pause of its own process', function () {
  this.timeout(10_000);
  it('a replica that was frozen past its local deadline gives the slot up: silence is not an outage', async () => {
    const prefix = `wltest:${randomUUID()}:`;
    const store = new RedisLeaseStore({ prefix });
    await store.ready();
    const gate = createLeaseGate({ store, provider: 'pause', limit: 1, ttlMs: 300, replicaId: 'A' });
    try {
      const slot = await gate.tryTake();
      assert.ok(slot);
      const lost = new Promise<Error>((resolve) => slot.onLost(resolve));
      // A synchronous block stands in for SIGSTOP or a long GC: no timer, no reply, no error.
      const until = Date.now() + 600;
      while (Date.now() < until) { /* frozen */ }
      const reason = await lost;
      assert.ok(reason instanceof LeaseLostError);
      assert.match(reason.message, /local deadline|no longer holds/);
      assert.equal(gate.mode, 'global', 'a pause is not mistaken for a store outage');
      assert.equal(gate.held(), 0);
    } finally {
      await gate.close();
      const keys = await store.redis.keys(`${prefix}*`);
      if (keys.length) await store.redis.del(...keys);
      await store.close();
    }
  });
});

describe('leases: lease gate drain', function () {
  this.timeout(10_000);
  it('close() gives every held slot back at once instead of leaving it to the TTL', async () => {
    const prefix = `wltest:${randomUUID()}:`;
    const store = new RedisLeaseStore({ prefix });
    await store.ready();
    const gate = createLeaseGate({ store, provider: 'drain', limit: 3, ttlMs: 60_000, replicaId: 'A' });
    try {
      assert.ok(await gate.tryTake());
      assert.ok(await gate.tryTake());
      assert.equal(await store.semaphoreCount('drain'), 2);
      await gate.close();
      assert.equal(await store.semaphoreCount('drain'), 0);
      assert.equal(await gate.tryTake(), undefined, 'a closed gate grants nothing');
    } finally {
      const keys = await store.redis.keys(`${prefix}*`);
      if (keys.length) await store.redis.del(...keys);
      await store.close();
    }
  });
});
