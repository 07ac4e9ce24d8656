import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RedisLeaseStore } from '../../../src/leases/index.js';
import { RedisServer } from '../../support/redis-server.js';

describe('leases: fencing tokens across a Redis restart without persistence', function () {
  this.timeout(20_000);
  const server = new RedisServer();
  before(() => server.start());
  after(() => server.dispose());

  it('tokens still increase after Redis lost its counters, so a stale holder stays stale', async () => {
    const prefix = `wltest:${randomUUID()}:`;
    const connect = async () => { const s = new RedisLeaseStore({ url: server.url, prefix }); await s.ready(); return s; };
    let store = await connect();
    const before = await store.acquire('reg', 'A', 60_000);
    const slotBefore = await store.semaphoreTryAcquire('cap', 2, 'A', 60_000);
    assert.ok(before && slotBefore);
    assert.equal(await store.fencedAppend(before, 'reg', 'A'), true);
    await store.close();
    await server.restart();
    store = await connect();
    try {
      const after = await store.acquire('reg', 'B', 60_000);
      const slotAfter = await store.semaphoreTryAcquire('cap', 2, 'B', 60_000);
      assert.ok(after && slotAfter);
      assert.ok(after.token > before.token, `${after.token} > ${before.token}`);
      assert.ok(slotAfter.token > slotBefore.token);
      assert.equal(await store.fencedAppend(after, 'reg', 'B'), true);
      assert.equal(await store.fencedAppend(before, 'reg', 'A-stale'), false);
      assert.deepEqual(await store.actionLog('reg'), ['B']);
    } finally { await store.close(); }
  });
});
