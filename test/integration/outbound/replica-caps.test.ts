import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RedisServer } from '../../support/redis-server.js';
import { startReplica, type Replica } from '../../support/replica.js';
import { api, startTrunk, startUas, type Api, type Trunk, type Uas } from './support.js';

/**
 * The trunk caps hold for the deployment, not per replica: two gateway processes share a Redis
 * lease store (a private one), and between them never have more calls in progress on a trunk than
 * its maxConcurrent, nor start more per second than its callsPerSecond. Over a cap the API says so
 * (503, 429) and no INVITE leaves: the sipp callee sees exactly the calls that were accepted.
 */
describe('outbound: trunk caps across two replicas sharing Redis', function () {
  this.timeout(180_000);
  const redis = new RedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'wl-outbound-caps-'));
  let t: Trunk;
  let uas: Uas;
  let ra: Replica;
  let rb: Replica;
  let a: Api;
  let b: Api;

  before(async () => {
    await redis.start();
    t = await startTrunk();
    // Four calls reach the callee: two on A, the one B may place once A hung one up, one under the rate cap.
    uas = await startUas('uas-ring.xml', t.uasPort, t.mediaPort, 4);
    const registrar = `{host: 127.0.0.1, port: ${t.registrar.port}}`;
    const file = join(dir, 'warmline.yaml');
    writeFileSync(file, `registrations:
  - {id: capped, user: acme, domain: trunk.test, registrar: ${registrar}, password: s3cret}
  - {id: paced, user: acme, domain: trunk.test, registrar: ${registrar}, password: s3cret}
outbound:
  ringTimeoutS: 60
  trunks:
    - {id: capped, maxConcurrent: 2, callsPerSecond: 50}
    - {id: paced, maxConcurrent: 50, callsPerSecond: 1}
leases: {store: redis, redisUrl: "${redis.url}"}
`);
    const base = 36000 + (process.pid % 200) * 20;
    [ra, rb] = await Promise.all([
      startReplica({ WARMLINE_CONFIG: file, WARMLINE_LEASES__REPLICAID: 'replica-a', WARMLINE_MEDIA__PORTMIN: String(base), WARMLINE_MEDIA__PORTMAX: String(base + 9) }),
      startReplica({ WARMLINE_CONFIG: file, WARMLINE_LEASES__REPLICAID: 'replica-b', WARMLINE_MEDIA__PORTMIN: String(base + 10), WARMLINE_MEDIA__PORTMAX: String(base + 19) }),
    ]);
    a = api(ra.url);
    b = api(rb.url);
  });
  after(async () => {
    ra?.kill();
    rb?.kill();
    await Promise.all([ra?.exit, rb?.exit]);
    uas?.stop();
    await t?.kamailio.dispose();
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('calls at once: 2 on replica A, then B (and A) get 503 until one ends; calls per second: 429', async () => {
    const one = await a.post({ to: '+15550001001', trunk: 'capped' });
    const two = await a.post({ to: '+15550001002', trunk: 'capped' });
    assert.equal(one.status, 201, JSON.stringify(one.body));
    assert.equal(two.status, 201, JSON.stringify(two.body));
    await a.until(one.body.id as string, (v) => v.state === 'ringing', 'first call ringing');
    await a.until(two.body.id as string, (v) => v.state === 'ringing', 'second call ringing');

    const refusedB = await b.post({ to: '+15550001003', trunk: 'capped' });
    assert.equal(refusedB.status, 503, JSON.stringify(refusedB.body));
    assert.equal(refusedB.body.code, 'WL_ERR_DIAL_REFUSED');
    assert.match(String(refusedB.body.error), /trunk-concurrency.*maxConcurrent/);
    assert.equal((await a.post({ to: '+15550001003', trunk: 'capped' })).status, 503, 'A is over the cap too');

    // One call ends (CANCEL): its slot is released at once, and B may place one.
    await a.del(one.body.id as string);
    await a.until(one.body.id as string, (v) => v.state === 'ended', 'first call cancelled');
    const three = await b.post({ to: '+15550001004', trunk: 'capped' });
    assert.equal(three.status, 201, JSON.stringify(three.body));
    await b.until(three.body.id as string, (v) => v.state === 'ringing', 'B\'s call ringing');

    // One call per second on `paced`, the two replicas together.
    const first = await a.post({ to: '+15550001005', trunk: 'paced' });
    const second = await b.post({ to: '+15550001006', trunk: 'paced' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(second.status, 429, JSON.stringify(second.body));
    assert.match(String(second.body.error), /trunk-rate/);
    await a.until(first.body.id as string, (v) => v.state === 'ringing', 'paced call ringing');

    for (const [api_, id] of [[a, two.body.id], [b, three.body.id], [a, first.body.id]] as const) {
      await api_.del(id as string);
      await api_.until(id as string, (v) => v.state === 'ended' && v.reason === 'cancelled', 'cancelled');
    }
    // The callee saw the four accepted calls and no other: sipp -m 4 ends once each was cancelled.
    const done = await uas.done;
    assert.equal(done.code, 0, done.out.slice(-2000));
  });
});
