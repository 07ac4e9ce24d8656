import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { RedisLeaseStore } from '../../../src/leases/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { eventually } from './helpers.js';

// ioredis' own scripting tests do the same: watch the wire with MONITOR, not only the result.
describe('leases: scripts on the wire', function () {
  this.timeout(20_000);
  const server = new RedisServer();
  before(() => server.start());
  after(() => server.dispose());

  it('sends each script body once per connection, then EVALSHA; survives SCRIPT FLUSH with one EVAL', async () => {
    const store = new RedisLeaseStore({ url: server.url, prefix: `wltest:${randomUUID()}:` });
    await store.ready();
    const admin = new Redis(server.url);
    // monitor() opens a connection of its own: the client it is called on must be closed too.
    const monitorOwner = new Redis(server.url);
    const monitor = await monitorOwner.monitor();
    const seen: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => { const c = String(args[0]).toLowerCase(); if (c === 'eval' || c === 'evalsha') seen.push(c); });
    try {
      await store.semaphoreTake('cap', 3, 'A', 5000, false);
      await eventually(async () => seen.length >= 1, 'the first call on the wire', 5000);
      assert.equal(seen.at(-1), 'eval', 'the first use on a connection sends the body (ioredis loads it)');
      await store.semaphoreTake('cap', 3, 'A', 5000, false);
      await eventually(async () => seen.length >= 2, 'the second call', 5000);
      assert.equal(seen.at(-1), 'evalsha', 'then only the hash');
      seen.length = 0;
      await admin.script('FLUSH'); // what a Redis restart does to the script cache
      const { grant } = await store.semaphoreTake('cap', 3, 'A', 5000, false);
      assert.ok(grant, 'a flushed script cache costs a fallback, never a failed call');
      await store.semaphoreTake('cap', 3, 'A', 5000, false);
      await eventually(async () => seen.at(-1) === 'evalsha' && seen.includes('eval'), `EVAL once then EVALSHA: ${JSON.stringify(seen)}`, 5000);
      assert.equal(seen.filter((c) => c === 'eval').length, 1);
    } finally {
      monitor.disconnect();
      monitorOwner.disconnect();
      admin.disconnect();
      await store.close();
    }
  });
});
