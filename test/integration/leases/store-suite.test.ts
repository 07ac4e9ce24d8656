import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { until } from '../../support/wait.js';
import { LeaseInvalidArgumentError, MemoryLeaseStore, RedisLeaseStore, type LeaseStore } from '../../../src/leases/index.js';

const stores: Array<[string, () => Promise<{ store: LeaseStore; cleanup(): Promise<void> }>]> = [
  ['memory', async () => { const store = new MemoryLeaseStore(); return { store, cleanup: () => store.close() }; }],
  ['redis', async () => {
    const prefix = `wltest:${randomUUID()}:`;
    const store = new RedisLeaseStore({ prefix });
    await store.ready();
    return {
      store,
      async cleanup() {
        const keys = await store.redis.keys(`${prefix}*`);
        if (keys.length) await store.redis.del(...keys);
        await store.close();
      },
    };
  }],
];

for (const [label, make] of stores) {
  describe(`leases: ${label} store`, function () {
    this.timeout(10_000);
    let store: LeaseStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => { ({ store, cleanup } = await make()); });
    afterEach(async () => { await cleanup(); });

    it('grants one holder at a time and fencing tokens increase', async () => {
      const a = await store.acquire('reg-1', 'A', 300);
      assert.ok(a);
      assert.equal(await store.acquire('reg-1', 'B', 300), undefined);
      assert.equal(await store.release(a), true);
      const b = await store.acquire('reg-1', 'B', 300);
      assert.ok(b && b.token > a.token);
    });

    it('token-checked release and extend cannot touch another holder', async () => {
      const a = await store.acquire('reg-2', 'A', 200);
      assert.ok(a);
      let b: Awaited<ReturnType<LeaseStore['acquire']>>;
      await until(async () => (b = await store.acquire('reg-2', 'B', 1000)) !== undefined, "A's lease to expire and B to take it");
      assert.ok(b);
      assert.equal(await store.extend(a, 1000), false);
      assert.equal(await store.release(a), false);
      assert.equal(await store.acquire('reg-2', 'C', 1000), undefined, 'B still holds it');
      assert.equal(await store.extend(b, 1000), true);
    });

    it('semaphore never exceeds its limit and expired holders are reaped', async () => {
      const got = await Promise.all(Array.from({ length: 6 }, (_, i) => store.semaphoreTryAcquire('dg', 3, `r${i}`, 200)));
      const held = got.filter((g) => g !== undefined);
      assert.equal(held.length, 3);
      assert.equal(await store.semaphoreCount('dg'), 3);
      const tokens = held.map((g) => g!.token);
      assert.equal(new Set(tokens).size, 3);
      assert.equal(await store.semaphoreExtend(held[0]!, 1000), true);
      await until(async () => (await store.semaphoreCount('dg')) === 1, 'two expired, the extended one remains');
      assert.equal(await store.semaphoreExtend(held[1]!, 1000), false, 'an expired slot cannot be renewed');
      assert.equal(await store.semaphoreRelease(held[0]!), true);
      assert.equal(await store.semaphoreRelease(held[0]!), false);
      assert.equal(await store.semaphoreCount('dg'), 0);
    });

    it('bad input gets a typed error', async () => {
      await assert.rejects(store.acquire('', 'A', 1000), LeaseInvalidArgumentError);
      await assert.rejects(store.semaphoreTryAcquire('x', 0, 'A', 1000), LeaseInvalidArgumentError);
      await assert.rejects(store.acquire('k', 'A', 5), LeaseInvalidArgumentError);
    });
  });
}

describe('leases: redis store fencing', function () {
  this.timeout(10_000);
  it('a fenced write by a stale holder is refused', async () => {
    const prefix = `wltest:${randomUUID()}:`;
    const store = new RedisLeaseStore({ prefix });
    try {
      await store.ready();
      const a = await store.acquire('reg', 'A', 200);
      assert.ok(a);
      assert.equal(await store.fencedSet(a, `${prefix}effect`, 'A'), true);
      let b: Awaited<ReturnType<RedisLeaseStore['acquire']>>;
      await until(async () => (b = await store.acquire('reg', 'B', 1000)) !== undefined, "A's lease to expire and B to take it");
      assert.ok(b);
      assert.equal(await store.fencedSet(a, `${prefix}effect`, 'A-stale'), false);
      assert.equal(await store.redis.get(`${prefix}effect`), 'A');
    } finally {
      const keys = await store.redis.keys(`${prefix}*`);
      if (keys.length) await store.redis.del(...keys);
      await store.close();
    }
  });
});
