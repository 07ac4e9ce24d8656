import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { ExclusivePool } from '../../../src/pools/index.js';
import { RedisLeaseStore } from '../../../src/leases/index.js';
import { createLeaseGate } from '../../../src/boot/lease-gate.js';
import { FakeFactory } from '../../support/fake-factory.js';
import { RedisServer } from '../../support/redis-server.js';
import { until } from '../../support/wait.js';
import { eventually, once } from './helpers.js';

describe('leases: the gate under a real warm pool while Redis dies and returns', function () {
  this.timeout(30_000);
  const server = new RedisServer();
  before(() => server.start());
  after(() => server.dispose());

  it('open connections and the call on one survive the outage; the pool is re-counted against the cap after', async () => {
    const prefix = `wltest:${randomUUID()}:`;
    const store = new RedisLeaseStore({ url: server.url, prefix, commandTimeoutMs: 150 });
    await store.ready();
    const gate = createLeaseGate({ store, provider: 'asr', limit: 4, ttlMs: 900, replicaId: 'A', localShare: 0.5 });
    const factory = new FakeFactory();
    const pool = new ExclusivePool({ name: 'asr', factory, min: 3, max: 4, gate });
    try {
      pool.start();
      await pool.whenReady();
      const call = await pool.acquire();
      let callLost = false;
      call.on('lost', () => { callLost = true; });
      assert.equal(gate.held(), 3);

      const degraded = once(gate, 'degraded');
      await server.kill();
      await degraded;
      // Several heartbeats with Redis gone, driven rather than waited for (degraded, the gate keeps
      // no local-deadline timers: only a heartbeat could drop a slot now).
      for (let i = 0; i < 3; i++) await gate.beat();
      assert.equal(factory.live.length, 3, 'no connection was closed for want of Redis');
      assert.equal(callLost, false);
      const second = await pool.acquire();
      second.release();

      const recovered = once(gate, 'recovered');
      await server.start();
      await recovered;
      await until(() => gate.stats().localOnly === 0, 'every slot confirmed');
      const probe = new RedisLeaseStore({ url: server.url, prefix });
      await probe.ready();
      await eventually(async () => (await probe.semaphoreCount('asr')) === gate.held(), 'the store counts what the pool holds');
      await probe.close();
      assert.equal(callLost, false, 'the call never noticed');
      assert.ok(call.active);
      call.release();
    } finally {
      await pool.close();
      await gate.close();
      await store.close();
    }
  });
});
