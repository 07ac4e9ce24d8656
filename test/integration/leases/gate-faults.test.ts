import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { RedisLeaseStore } from '../../../src/leases/index.js';
import { createLeaseGate, type LeaseGate } from '../../../src/boot/lease-gate.js';
import { RedisServer } from '../../support/redis-server.js';
import { until } from '../../support/wait.js';
import { eventually, once, RecordingLogger, SlotHolder } from './helpers.js';

// Short TTL so the suite runs in seconds; commandTimeout well under ttl/3 so an outage shows up as
// an error before any local deadline (the rule the gate relies on, see RedisLeaseStoreOptions).
const TTL = 900;
const CMD_TIMEOUT = 150;

describe('leases: gate against a Redis that dies and comes back', function () {
  this.timeout(30_000);
  const server = new RedisServer();
  const cleanup: Array<() => void | Promise<void>> = [];
  let prefix: string;
  before(() => server.start());
  beforeEach(async () => { prefix = `wltest:${randomUUID()}:`; if (!server.running) await server.start(); });
  afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c(); });
  after(() => server.dispose());

  async function store(): Promise<RedisLeaseStore> {
    const s = new RedisLeaseStore({ url: server.url, prefix, commandTimeoutMs: CMD_TIMEOUT });
    cleanup.push(() => s.close());
    await s.ready();
    return s;
  }
  function gate(s: RedisLeaseStore, replicaId: string, limit: number, extra: { localShare?: number; holder?: SlotHolder; logger?: RecordingLogger } = {}): LeaseGate {
    const g = createLeaseGate({
      store: s, provider: 'asr', limit, ttlMs: TTL, replicaId,
      ...(extra.localShare !== undefined ? { localShare: extra.localShare } : {}),
      ...(extra.holder ? { reclaimIdle: extra.holder.reclaimIdle } : {}),
      ...(extra.logger ? { logger: extra.logger } : {}),
    });
    extra.holder?.attach(g);
    cleanup.push(async () => { extra.holder?.stop(); await g.close(); });
    return g;
  }

  it('falls back to a local share with a loud warning, keeps open slots, and re-establishes them when Redis returns', async () => {
    const logA = new RecordingLogger();
    const a = new SlotHolder(3);
    const b = new SlotHolder(3);
    const ga = gate(await store(), 'A', 6, { localShare: 0.5, holder: a, logger: logA });
    const gb = gate(await store(), 'B', 6, { localShare: 0.5, holder: b });
    a.run(); b.run();
    await until(() => a.slots.length === 3 && b.slots.length === 3, 'both replicas warm');
    a.call(2); b.call(2);

    // Churn (bounded) while Redis dies: calls keep ending and starting on idle connections.
    let churning = true;
    // The 5 ms pause paces the workload (calls ending every 5 ms); it waits for nothing.
    const churn = (async () => { for (let i = 0; i < 2000 && churning; i++) { a.releaseOne(); b.releaseOne(); await new Promise((r) => setTimeout(r, 5)); } })();
    const degraded = Promise.all([once(ga, 'degraded'), once(gb, 'degraded')]);
    await server.kill();
    const [[infoA]] = await degraded;
    assert.equal(ga.mode, 'local');
    assert.equal(infoA.localCap, 3);
    assert.ok(logA.lines.some((l) => l.level === 'error' && /UNREACHABLE/.test(l.msg)), 'a loud error-level log line');
    // Still serving: the holders refill up to the local cap with Redis gone.
    await until(() => a.slots.length === 3 && b.slots.length === 3, 'refilled locally');
    assert.equal(a.busy.size, 2, 'slots carrying calls were kept');
    assert.equal(a.lost + b.lost, 0, 'no slot was taken from a connection');
    assert.ok(ga.stats().localOnly > 0, 'some slots exist only locally');
    assert.equal(await ga.tryTake(), undefined, 'the local cap holds');

    const recovered = Promise.all([once(ga, 'recovered'), once(gb, 'recovered')]);
    await server.start(); // same port, empty: every slot must be taken again
    await recovered;
    churning = false;
    await churn;
    await until(() => a.slots.length === 3 && b.slots.length === 3 && ga.stats().localOnly === 0 && gb.stats().localOnly === 0, 'confirmed globally');
    const check = await store();
    assert.equal(ga.mode, 'global');
    assert.equal(await check.semaphoreCount('asr'), ga.held() + gb.held());
    assert.ok(await check.semaphoreCount('asr') <= 6);
    assert.equal(a.lost + b.lost, 0, 'everything fitted, so nothing was lost');
    assert.equal(a.busy.size + b.busy.size, 4, 'the calls survived the outage');
  });

  it('a frozen Redis (SIGSTOP) is an outage once commands time out: slots are kept, then confirmed when it thaws', async () => {
    const a = new SlotHolder(2);
    const ga = gate(await store(), 'A', 4, { holder: a });
    await a.fill();
    a.call(1);
    const degraded = once(ga, 'degraded');
    server.pause();
    try {
      await degraded;
      assert.equal(a.slots.length, 2);
      assert.equal(a.lost, 0, 'the timeout arrived before any local deadline');
    } finally { server.resume(); }
    await once(ga, 'recovered');
    const check = await store();
    await eventually(async () => (await check.semaphoreCount('asr')) === 2, 'both slots held in the store');
    assert.equal(a.lost, 0);
    assert.equal(a.busy.size, 1);
  });

  it('on return, slots that no longer fit the global cap are lost, never kept above it', async () => {
    const a = new SlotHolder(4);
    const b = new SlotHolder(4);
    // A share of 1 lets each replica fill the whole cap locally: together they exceed it until Redis returns.
    const ga = gate(await store(), 'A', 4, { localShare: 1, holder: a });
    const gb = gate(await store(), 'B', 4, { localShare: 1, holder: b });
    await Promise.all([a.fill(), b.fill()]);
    const degraded = Promise.all([once(ga, 'degraded'), once(gb, 'degraded')]);
    await server.kill();
    await degraded;
    await Promise.all([a.fill(), b.fill()]);
    assert.equal(a.slots.length + b.slots.length, 8);
    const recovered = Promise.all([once(ga, 'recovered'), once(gb, 'recovered')]);
    await server.start();
    const [[ra], [rb]] = await recovered;
    assert.equal(ra.reacquired + rb.reacquired, 4);
    assert.equal(ra.lost + rb.lost, 4);
    assert.equal(a.slots.length + b.slots.length, 4);
    assert.equal(a.lost + b.lost, 4, 'each lost slot was reported so its connection closes');
    const check = await store();
    assert.equal(await check.semaphoreCount('asr'), 4);
  });

  it('a store that lost its data between heartbeats (restart without persistence) drops no slot', async () => {
    const a = new SlotHolder(3);
    const ga = gate(await store(), 'A', 3, { holder: a });
    await a.fill();
    const check = await store();
    const before = await check.redis.get(`${prefix}e:epoch`);
    await check.redis.flushall(); // what a restart without persistence leaves, minus the reconnect
    await eventually(async () => (await check.semaphoreCount('asr')) === 3, 'the next heartbeat to take the slots again');
    assert.equal(a.lost, 0);
    assert.equal(ga.stats().degradations, 0, 'Redis never stopped answering');
    assert.notEqual(await check.redis.get(`${prefix}e:epoch`), before, 'the epoch changed');
    assert.equal(await check.semaphoreCount('asr'), 3, 'the slots were taken again');
    assert.equal(a.slots.length, 3);
  });
});

describe('leases: fair share between replicas', function () {
  this.timeout(30_000);
  const server = new RedisServer();
  const cleanup: Array<() => void | Promise<void>> = [];
  let prefix: string;
  before(() => server.start());
  beforeEach(() => { prefix = `wltest:${randomUUID()}:`; });
  afterEach(async () => { for (const c of cleanup.splice(0).reverse()) await c(); });
  after(() => server.dispose());

  async function replica(id: string, limit: number, want: number): Promise<{ gate: LeaseGate; holder: SlotHolder; store: RedisLeaseStore }> {
    const store = new RedisLeaseStore({ url: server.url, prefix, commandTimeoutMs: 500 });
    await store.ready();
    const holder = new SlotHolder(want);
    const gate = createLeaseGate({ store, provider: 'tts', limit, ttlMs: TTL, replicaId: id, reclaimIdle: holder.reclaimIdle });
    holder.attach(gate);
    cleanup.push(async () => { holder.stop(); await gate.close(); await store.close(); });
    return { gate, holder, store };
  }

  it('a lone replica warms beyond its share; idle slots flow to a replica that asks, busy ones stay', async () => {
    const a = await replica('A', 6, 6);
    a.holder.run();
    await until(() => a.holder.slots.length === 6, 'A alone takes the whole free cap');
    a.holder.call(5); // A carries 5 calls: only 1 of its slots is idle
    const b = await replica('B', 6, 3);
    b.holder.run();
    await until(() => b.holder.slots.length === 1, 'B gets the one idle slot A gave back');
    assert.equal(a.holder.slots.length, 5, 'slots carrying calls are never reclaimed');
    assert.equal(a.holder.lost, 0);
    a.holder.hangUpAll(); // A's calls end: its warm slots are now idle and above its share
    await until(() => b.holder.slots.length === 3 && a.holder.slots.length === 3, 'fair split 3/3');
    assert.ok(a.gate.stats().reclaimed >= 3);
    // Stable: A keeps asking for 6 but is refused while B holds only its share... and B is satisfied.
    // Three heartbeats of each gate (where reclaiming happens), driven rather than waited for.
    for (let i = 0; i < 3; i++) { await a.gate.beat(); await b.gate.beat(); }
    assert.equal(a.holder.slots.length + b.holder.slots.length, 6);
    assert.equal(b.holder.slots.length, 3);
  });

  it("a dead replica's slots expire within the TTL and go to the others", async () => {
    const a = await replica('A', 4, 4);
    const dead = await replica('D', 4, 2);
    await dead.holder.fill();
    await a.holder.fill();
    assert.equal(a.holder.slots.length, 2);
    // Crash: the connection goes first, so the heartbeat stops and nothing is released.
    dead.holder.stop();
    dead.store.redis.disconnect();
    await dead.gate.close();
    const [sec, usec] = await a.store.redis.time();
    const now = Number(sec) * 1000 + Number(usec) / 1000;
    const scores = await a.store.redis.zrange(`${prefix}s:tts`, '0', '-1', 'WITHSCORES');
    const deadExpiries = scores.filter((_, i) => i % 2 === 1 && String(scores[i - 1]).endsWith(':D')).map(Number);
    assert.equal(deadExpiries.length, 2);
    for (const e of deadExpiries) assert.ok(e - now <= TTL, 'the store forgets them within one TTL');
    a.holder.run();
    await until(() => a.holder.slots.length === 4, 'A takes the dead replica slots once they expire');
  });

  it('together three replicas never exceed the cap under churn (Redis count and held slots sampled)', async () => {
    const LIMIT = 6;
    const reps = await Promise.all(['A', 'B', 'C'].map((id) => replica(id, LIMIT, 5)));
    const probe = new RedisLeaseStore({ url: server.url, prefix });
    await probe.ready();
    cleanup.push(() => probe.close());
    let maxCount = 0;
    let maxHeld = 0;
    let samples = 0;
    let running = true;
    const sampler = (async () => {
      while (running) {
        maxCount = Math.max(maxCount, await probe.semaphoreCount('tts'));
        maxHeld = Math.max(maxHeld, reps.reduce((n, r) => n + r.gate.held(), 0));
        samples++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    // Bounded churn: 3 × 300 steps of take-or-release, with calls coming and going.
    await Promise.all(reps.map(async (r, k) => {
      for (let i = 0; i < 300; i++) {
        if ((i + k) % 3 === 0) r.holder.releaseOne(); else await r.holder.fill();
        if (i % 25 === 0) { r.holder.hangUpAll(); r.holder.call(2); }
        maxHeld = Math.max(maxHeld, reps.reduce((n, x) => n + x.gate.held(), 0));
      }
    }));
    running = false;
    await sampler;
    assert.ok(samples > 10, `sampled ${samples} times`);
    assert.ok(maxCount <= LIMIT, `Redis count peaked at ${maxCount}`);
    assert.ok(maxHeld <= LIMIT, `held slots peaked at ${maxHeld}`);
    assert.ok(maxCount === LIMIT, 'the churn did reach the cap');
    assert.equal(reps.reduce((n, r) => n + r.holder.lost, 0), 0);
  });
});
