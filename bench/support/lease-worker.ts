/**
 * One replica of bench/leases.ts, in its own process so the replicas contend through Redis and
 * not through one event loop. Configuration is one JSON argument; results are JSON lines on
 * stdout; "go" on stdin starts the timed part, so all replicas start together.
 *   node --import tsx bench/support/lease-worker.ts '<json>'
 */
import { connect, type Socket } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { UdpTransport, UserAgent } from '../../sip/index.js';
import { OwnershipManager, RedisLeaseStore } from '../../src/leases/index.js';
import { createLeaseGate } from '../../src/boot/lease-gate.js';
import { OwnedRegistrations } from '../../src/boot/owned-registrations.js';
import type { CapacitySlot } from '../../src/pools/types.js';
import { sleepUntil } from './pace.js';

export type WorkerConfig =
  | { mode: 'latency'; redisUrl: string; prefix: string; replica: string; ops: number; warmup: number; limit: number; ttlMs: number; /** pairs per second; 0 = back to back */ rate: number }
  | { mode: 'churn'; redisUrl: string; prefix: string; replica: string; limit: number; want: number; ttlMs: number; providerPort: number; durationMs: number; maxSteps: number }
  | { mode: 'registrar'; redisUrl: string; prefix: string; replica: string; ttlMs: number; scanMs: number; registrarPort: number; users: string[]; password: Record<string, string> };

const cfg = JSON.parse(process.argv[2]!) as WorkerConfig;
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const go = new Promise<void>((resolve) => createInterface({ input: process.stdin }).on('line', (l) => { if (l === 'go') resolve(); }));

if (cfg.mode === 'latency') {
  const store = new RedisLeaseStore({ url: cfg.redisUrl, prefix: cfg.prefix });
  await store.ready();
  const once = async () => {
    const { grant } = await store.semaphoreTake('bench', cfg.limit, cfg.replica, cfg.ttlMs, false);
    if (grant) await store.semaphoreRelease(grant);
    return grant !== undefined;
  };
  // Warm-up outside the measurement: JIT, and the one NOSCRIPT → EVAL per script and connection.
  for (let i = 0; i < cfg.warmup; i++) await once();
  say({ event: 'ready' });
  await go;
  const samples = new Array<number>(cfg.ops);
  // Baseline: two PINGs, the same two round trips with no script, to tell lease cost from the
  // machine's (scheduler, idle wake-up, event loop) cost; and the event loop's own delay over the
  // run. When paced, the PINGs get their own slot halfway between two ops, so they too start
  // after an idle wait: on this VM waking from idle costs more than a round trip, and PINGs sent
  // straight after an op would run hot and understate the baseline.
  const pings = new Array<number>(cfg.ops);
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  let granted = 0;
  const t0 = performance.now();
  for (let i = 0; i < cfg.ops; i++) {
    // Paced (open loop): an op starts on its schedule, so CPU saturation by the bench itself
    // does not show up as lease latency. Only the op is timed, not the wait.
    if (cfg.rate > 0) await sleepUntil(t0 + (i * 1000) / cfg.rate);
    const s = performance.now();
    if (await once()) granted++;
    samples[i] = performance.now() - s;
    if (cfg.rate > 0) await sleepUntil(t0 + ((i + 0.5) * 1000) / cfg.rate);
    const p = performance.now();
    await store.redis.ping();
    await store.redis.ping();
    pings[i] = performance.now() - p;
  }
  const elapsedMs = performance.now() - t0;
  loopDelay.disable();
  say({ event: 'done', samples, pings, granted, elapsedMs, loopDelayP99Ms: loopDelay.percentile(99) / 1e6 });
  await store.close();
  process.exit(0);
}

if (cfg.mode === 'churn') {
  const store = new RedisLeaseStore({ url: cfg.redisUrl, prefix: cfg.prefix });
  await store.ready();
  const open = new Map<CapacitySlot, Socket>();
  let opened = 0;
  let lost = 0;
  let reclaimed = 0;
  // Closing gracefully and releasing the slot only on 'close' means the provider has seen the
  // end of the stream first: the order a real cap needs.
  const closeOne = (slot: CapacitySlot) => new Promise<void>((resolve) => {
    const sock = open.get(slot);
    open.delete(slot);
    if (!sock) { slot.release(); return resolve(); }
    sock.once('close', () => { slot.release(); resolve(); });
    sock.end();
  });
  const gate = createLeaseGate({
    store, provider: 'bench-cap', limit: cfg.limit, ttlMs: cfg.ttlMs, replicaId: cfg.replica,
    reclaimIdle: (n) => { const victims = [...open.keys()].slice(0, n); for (const v of victims) void closeOne(v); reclaimed += victims.length; return victims.length; },
  });
  const fill = async () => {
    while (open.size < cfg.want) {
      const slot = await gate.tryTake();
      if (!slot) return;
      const sock = connect(cfg.providerPort, '127.0.0.1');
      sock.on('error', () => undefined);
      open.set(slot, sock);
      opened++;
      slot.onLost(() => { lost++; open.delete(slot); sock.destroy(); });
      await new Promise<void>((r) => sock.once('connect', () => r()));
    }
  };
  say({ event: 'ready' });
  await go;
  const end = performance.now() + cfg.durationMs;
  let steps = 0;
  while (performance.now() < end && steps++ < cfg.maxSteps) {
    await fill();
    const slots = [...open.keys()];
    if (slots.length > 0) await closeOne(slots[Math.floor(Math.random() * slots.length)]!);
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all([...open.keys()].map(closeOne));
  await gate.close();
  say({ event: 'done', opened, lost, reclaimed, steps, degradations: gate.stats().degradations });
  await store.close();
  process.exit(0);
}

if (cfg.mode === 'registrar') {
  const store = new RedisLeaseStore({ url: cfg.redisUrl, prefix: cfg.prefix });
  await store.ready();
  const transport = await UdpTransport.bind('127.0.0.1', 0);
  const ua = new UserAgent({ transport });
  const ownership = new OwnershipManager({ store, replicaId: cfg.replica, keys: cfg.users, ttlMs: cfg.ttlMs, scanMs: cfg.scanMs });
  const accounts = cfg.users.map((user) => ({
    id: user, user, domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: cfg.registrarPort }, password: cfg.password[user]!, expires: 300,
  }));
  const regs = new OwnedRegistrations({ ownership, accounts, ua, pool: { keepaliveMs: 0 } });
  regs.on('registered', (id) => say({ event: 'registered', id, replica: cfg.replica }));
  ownership.on('acquired', (id) => say({ event: 'acquired', id, replica: cfg.replica }));
  say({ event: 'ready' });
  await go;
  regs.start();
  process.once('SIGTERM', () => { void regs.stop().then(() => ua.close()).then(() => transport.close()).then(() => store.close()).then(() => process.exit(0)); });
}
