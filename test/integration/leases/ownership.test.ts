import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { until } from '../../support/wait.js';
import { OwnershipManager, RedisLeaseStore } from '../../../src/leases/index.js';

describe('leases: ownership on Redis', function () {
  this.timeout(15_000);
  it('spreads keys over replicas, one owner each, and fails over when one stops', async () => {
    const prefix = `wltest:${randomUUID()}:`;
    const stores = [0, 1, 2].map(() => new RedisLeaseStore({ prefix }));
    await Promise.all(stores.map((s) => s.ready()));
    const keys = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    const managers = stores.map((store, i) => new OwnershipManager({ store, replicaId: `rep${i}`, keys, ttlMs: 600 }));
    try {
      managers.forEach((m) => m.start());
      const ownedAll = () => managers.map((m) => m.ownedKeys()).flat().length === keys.length;
      await until(() => ownedAll() && managers.every((m) => m.ownedKeys().length === 2), 'every key owned, spread 2/2/2');
      const owned = managers.map((m) => m.ownedKeys());
      const all = owned.flat();
      assert.equal(new Set(all).size, all.length, 'no key has two owners');
      assert.equal(all.length, keys.length);
      assert.ok(owned.every((o) => o.length <= 2), `spread: ${JSON.stringify(owned)}`);
      await managers[0]!.stop();
      const lostKeys = owned[0]!;
      await until(() => [managers[1]!.ownedKeys(), managers[2]!.ownedKeys()].flat().length === keys.length, 'the survivors to own every key');
      const after = [managers[1]!.ownedKeys(), managers[2]!.ownedKeys()].flat();
      assert.equal(after.length, keys.length, `survivors own all: ${JSON.stringify(after)}`);
      assert.equal(new Set(after).size, after.length);
      for (const k of lostKeys) assert.ok(after.includes(k));
    } finally {
      for (const m of managers) await m.stop();
      const keysLeft = await stores[0]!.redis.keys(`${prefix}*`);
      if (keysLeft.length) await stores[0]!.redis.del(...keysLeft);
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});
