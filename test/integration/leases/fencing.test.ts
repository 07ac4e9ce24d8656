import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { OwnershipManager, RedisLeaseStore, type LeaseGrant } from '../../../src/leases/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { until } from '../../support/wait.js';
import { eventually } from './helpers.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/fenced-owner.ts', import.meta.url));
const TTL = 1000;

interface ChildEvent { event: string; [k: string]: unknown }

describe('leases: fencing a replica paused past its lease (SIGSTOP)', function () {
  this.timeout(40_000);
  const server = new RedisServer();
  let child: ChildProcess | undefined;
  before(() => server.start());
  afterEach(async () => {
    const c = child;
    child = undefined;
    if (c && c.exitCode === null && c.signalCode === null) {
      await new Promise<void>((r) => { c.once('exit', () => r()); c.kill('SIGCONT'); c.kill('SIGKILL'); });
    }
  });
  after(() => server.dispose());

  it('the woken replica knows it lost the lease without asking Redis, and its delayed action is refused', async () => {
    const prefix = `wltest:${randomUUID()}:`;
    const key = 'carrier-a';
    const events: ChildEvent[] = [];
    const c = spawn(process.execPath, ['--import', 'tsx', FIXTURE, server.url, prefix, key, String(TTL)], { stdio: ['pipe', 'pipe', 'pipe'] });
    child = c;
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    createInterface({ input: c.stdout! }).on('line', (l) => { try { events.push(JSON.parse(l) as ChildEvent); } catch { /* not ours */ } });
    const seen = (name: string) => events.find((e) => e.event === name);
    await until(() => seen('acquired') !== undefined || c.exitCode !== null, 'the child to own the registration', 20_000);
    assert.ok(seen('acquired'), `child failed: ${stderr}`);

    const store = new RedisLeaseStore({ url: server.url, prefix });
    await store.ready();
    const other = new OwnershipManager({ store, replicaId: 'other', keys: [key], ttlMs: TTL });
    let otherGrant: LeaseGrant | undefined;
    other.on('acquired', (_k, g) => { otherGrant = g; });
    try {
      await eventually(async () => (await store.actionLog(key)).some((e) => e.startsWith('child:')), 'the child to act as the owner');
      other.start();
      c.stdin!.write('decide\n');
      await until(() => seen('decided') !== undefined, 'the child to decide to act');
      assert.equal(seen('decided')!.owner, true);
      c.kill('SIGSTOP');
      assert.equal(otherGrant, undefined, 'no takeover while the child holds the lease');

      // Paused past its TTL: the other replica takes over and acts with a newer token.
      await until(() => otherGrant !== undefined, 'the other replica to take over', 20_000);
      assert.ok(otherGrant!.token > Number(seen('acquired')!.token));
      assert.equal(await store.fencedAppend(otherGrant!, key, `other:${otherGrant!.token}`), true);

      c.kill('SIGCONT');
      await until(() => seen('write') !== undefined, 'the woken child to try its delayed action');
      assert.equal(seen('woke')!.stillOwner, false, 'its local deadline had passed: it knew before hearing from Redis');
      assert.equal(seen('write')!.ok, false, 'the stale token was refused by the store');
      const lost = events.find((e) => e.event === 'lost');
      assert.ok(lost && /local deadline/.test(String(lost.reason)), `lost on the local clock: ${JSON.stringify(lost)}`);

      // It stops acting: nothing from the child lands after the other owner's first action. An
      // absence can only be watched for a while: half a TTL, in which a child still acting would
      // have written several times (it acts every few ms while it believes it owns).
      await new Promise((r) => setTimeout(r, TTL / 2));
      const log = await store.actionLog(key);
      assert.ok(log.some((e) => e.startsWith('child:')), 'the child did act while it owned the registration');
      const takeover = log.indexOf(`other:${otherGrant!.token}`);
      assert.ok(takeover >= 0);
      assert.deepEqual(log.slice(takeover + 1).filter((e) => e.startsWith('child')), [], `log after takeover: ${JSON.stringify(log.slice(takeover))}`);
    } finally {
      await other.stop();
      await store.close();
    }
  });
});
