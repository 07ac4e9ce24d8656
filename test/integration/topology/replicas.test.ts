import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Kamailio } from '../../support/kamailio.js';
import { RedisServer } from '../../support/redis-server.js';
import { startReplica, type Replica } from '../../support/replica.js';
import { until } from '../../support/wait.js';

type ReplicaView = {
  replicaId: string;
  gates: Array<{ provider: string; held: number; limit: number; mode: string }>;
  registrations: Array<{ id: string; state: string }>;
};
const view = async (r: Replica): Promise<ReplicaView> => (await (await fetch(`${r.url}/api/replica`)).json()) as ReplicaView;
const owned = async (r: Replica): Promise<string[]> => (await view(r)).registrations.filter((x) => x.state === 'registered').map((x) => x.id).sort();
const asrHeld = async (r: Replica): Promise<number> => (await view(r)).gates.find((g) => g.provider === 'asr-cap')?.held ?? 0;

/**
 * Replicas as separate processes sharing a real redis-server: the ASR cap
 * holds across them, each carrier registration has exactly one owner that
 * registers the balancer's address, and a killed owner's registrations are
 * taken over within the lease TTL.
 */
describe('topology: replicas share caps and registrations through Redis', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'wl-replicas-'));
  const redis = new RedisServer();
  const registrar = new Kamailio();
  const replicas: Replica[] = [];
  const accounts = ['acct-a', 'acct-b', 'acct-c', 'acct-d'];
  const BALANCER = { host: '127.0.0.1', port: 5999 };

  before(async () => {
    await redis.start();
    await registrar.start();
    const file = join(dir, 'replicas.yaml');
    writeFileSync(file, stringify({
      sip: { registerHost: BALANCER.host, registerPort: BALANCER.port },
      upstreams: { asr: { concurrencyCap: 3 } },
      pools: { asr: { min: 2 } },
      leases: { store: 'redis', redisUrl: redis.url, ttlMs: 2000 },
      registrations: accounts.map((id) => ({ id, user: id, domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: registrar.port }, password: Kamailio.password(id), expires: 60 })),
    }));
    for (const [i, base] of [49000, 49400].entries()) {
      replicas.push(await startReplica({
        WARMLINE_LEASES__REPLICAID: `replica-${i}`,
        WARMLINE_MEDIA__PORTMIN: String(base), WARMLINE_MEDIA__PORTMAX: String(base + 399),
      }, ['--config', file]));
    }
  });
  after(async () => {
    for (const r of replicas) r.kill();
    await registrar.dispose();
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('each registration has exactly one owner, spread over both replicas, registering the balancer as Contact', async () => {
    // The first replica up takes everything; when the second joins, the surplus moves to it.
    await until(async () => {
      const [a, b] = [await owned(replicas[0]!), await owned(replicas[1]!)];
      return a.length + b.length === accounts.length && a.length > 0 && b.length > 0;
    }, 'every registration owned and registered, spread over both', 30_000);
    const [a, b] = [await owned(replicas[0]!), await owned(replicas[1]!)];
    assert.deepEqual([...a, ...b].sort(), accounts, 'no registration twice, none missing');
    assert.ok(a.length > 0 && b.length > 0, `spread: ${a.join(',')} | ${b.join(',')}`);
    for (const id of accounts) {
      const bindings = await registrar.bindings(id);
      assert.equal(bindings.length, 1, `${id}: one binding`);
      assert.ok(bindings[0]!.includes(`${BALANCER.host}:${BALANCER.port}`), `${id} registered the balancer: ${bindings[0]}`);
    }
  });

  it('the ASR cap of 3 holds across replicas whose floors want 4', async () => {
    await until(async () => (await asrHeld(replicas[0]!)) + (await asrHeld(replicas[1]!)) === 3, 'the cap filled');
    // Sampled back to back (each sample is a round trip to both processes) while both floors
    // keep asking for a fourth slot.
    for (let i = 0; i < 50; i++) {
      const total = (await asrHeld(replicas[0]!)) + (await asrHeld(replicas[1]!));
      assert.ok(total <= 3, `held ${total} > cap 3`);
    }
  });

  it("a killed replica's registrations are taken over within the lease TTL, and its slots come back", async () => {
    const [a, b] = replicas as [Replica, Replica];
    const lost = await owned(b);
    b.kill('SIGKILL');
    await b.exit;
    await until(async () => (await owned(a)).length === accounts.length, 'replica a owns every registration', 15_000);
    await until(async () => (await asrHeld(a)) === 2, "replica a reaches its floor with the dead replica's slots", 15_000);
    for (const id of lost) assert.equal((await registrar.bindings(id)).length, 1);
  });
});
