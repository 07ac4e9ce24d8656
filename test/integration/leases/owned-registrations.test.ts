import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { UdpTransport, UserAgent } from '../../../sip/index.js';
import { OwnershipManager, RedisLeaseStore } from '../../../src/leases/index.js';
import { OwnedRegistrations } from '../../../src/boot/owned-registrations.js';
import { Kamailio } from '../../support/kamailio.js';
import { RedisServer } from '../../support/redis-server.js';
import { until } from '../../support/wait.js';
import { eventually } from './helpers.js';

describe('leases: owned registrations against a real Kamailio registrar', function () {
  this.timeout(60_000);
  const redis = new RedisServer();
  const kamailio = new Kamailio();
  before(async () => { await redis.start(); await kamailio.start(); });
  after(async () => { await kamailio.dispose(); await redis.dispose(); });

  it('each account is registered by its one owner; a drained replica hands over without un-REGISTERing', async () => {
    const prefix = `wltest:${randomUUID()}:`;
    const accounts = ['acct1', 'acct2'].map((user) => ({
      id: user, user, domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: kamailio.port }, password: Kamailio.password(user), expires: 60,
    }));
    const replicas = await Promise.all(['A', 'B'].map(async (id) => {
      const transport = await UdpTransport.bind('127.0.0.1', 0);
      const ua = new UserAgent({ transport, timers: { T1: 100, T2: 400, T4: 500 } });
      const store = new RedisLeaseStore({ url: redis.url, prefix });
      await store.ready();
      const ownership = new OwnershipManager({ store, replicaId: id, keys: accounts.map((a) => a.id), ttlMs: 900 });
      // A contact per replica here only so the test can see who registered; production uses the balancer's.
      const regs = new OwnedRegistrations({ ownership, accounts, ua, pool: { keepaliveMs: 0, backoff: { baseMs: 100, maxMs: 500 } } });
      const registered = new Map<string, number>();
      regs.on('registered', (acct) => registered.set(acct, (registered.get(acct) ?? 0) + 1));
      // The first replica up may own both accounts until the other joins and takes its share.
      regs.on('released', (acct) => registered.delete(acct));
      regs.start();
      return { id, transport, ua, store, ownership, regs, registered };
    }));
    try {
      await until(() => replicas.every((r) => r.regs.active().length === 1) && replicas.every((r) => r.registered.size === 1), 'one account each, registered');
      const [a, b] = replicas as [typeof replicas[0], typeof replicas[0]];
      const hostPort = (ua: UserAgent) => ua.contact.replace(/^sip:[^@]*@?/, '').replace(/[;>].*$/, '');
      const aAccount = a.regs.active()[0]!;
      const bindingsBefore = await kamailio.bindings(aAccount);
      assert.ok(bindingsBefore.some((c) => c.includes(hostPort(a.ua))), `A's contact bound: ${bindingsBefore}`);

      await a.regs.stop(); // drain
      await until(() => b.regs.active().length === 2 && b.registered.has(aAccount), "B refreshes A's account");
      const bindings = await kamailio.bindings(aAccount);
      assert.ok(bindings.some((c) => c.includes(hostPort(b.ua))), `B's contact bound: ${bindings}`);
      assert.ok(bindings.some((c) => c.includes(hostPort(a.ua))), `A did not un-REGISTER on drain: ${bindings}`);
      await eventually(async () => b.ownership.ownedKeys().length === 2, 'B owns both');
    } finally {
      for (const r of replicas) { await r.regs.stop(); await r.ua.close(); await r.transport.close(); await r.store.close(); }
    }
  });
});
