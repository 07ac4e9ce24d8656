import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TenantUsage } from '../../../src/tenants/index.js';
import { RedisServer } from '../../support/redis-server.js';
import { startReplica, type Replica } from '../../support/replica.js';
import { RawUac } from '../../support/sip-uac.js';
import { sipp, type SippRun } from '../../support/sipp.js';
import { until } from '../../support/wait.js';

const CAP = 15;
const tenants = (calmMax: number) => [
  // At most a quarter of the ASR cap (3 calls), 4 new calls a second, fleet-wide.
  { name: 'flood', dids: [{ did: '+1666*', agent: 'receptionist' }], limits: { cps: 4, burst: 4, shares: { asr: { max: 0.25 } } } },
  // A quarter of the ASR cap kept for it whatever the others do.
  { name: 'calm', dids: [{ did: '+1777*', agent: 'receptionist' }], limits: { maxConcurrent: calmMax, shares: { asr: { min: 0.25 } } } },
];

const usage = async (r: Replica): Promise<TenantUsage[]> => (await (await fetch(`${r.url}/api/tenants`)).json()) as TenantUsage[];
const fleetCalls = async (r: Replica, tenant: string) => (await usage(r)).find((t) => t.name === tenant)!.usage.calls;
async function refusals(r: Replica, tenant: string): Promise<number> {
  const text = await (await fetch(`${r.url}/metrics`)).text();
  return [...text.matchAll(new RegExp(`^warmline_tenant_refusals_total\\{tenant="${tenant}",reason="[a-z]+"\\} (\\d+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
}

/**
 * Three replica processes share tenant limits through a private redis-server: one tenant floods
 * every replica with sipp, the other's calls all succeed and keep their reserved share of the ASR
 * cap; a limit changed at run time on one replica binds the others at their next call.
 */
describe('tenants: limits held across three replicas through Redis', function () {
  this.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'wl-tenants-'));
  const file = join(dir, 'tenants.yaml');
  const redis = new RedisServer();
  const replicas: Replica[] = [];
  const floods: SippRun[] = [];
  let uac: RawUac;

  const write = (calmMax: number) => writeFileSync(file, stringify({
    upstreams: { asr: { concurrencyCap: CAP } },
    // Every slot of the cap warm, 5 per replica: room on each for the flood's whole share (3) and two calm calls.
    pools: { asr: { min: 5, max: 6, acquireTimeoutMs: 5000 } },
    // The calm calls send no RTP: they must outlive the whole test.
    media: { rtpTimeoutMs: 300_000 },
    analytics: { enabled: false },
    // A TTL of 6 s gives Redis commands a 1 s timeout: the shared machine is slow at times.
    leases: { store: 'redis', redisUrl: redis.url, ttlMs: 6000 },
    local: { asrRecognizer: 'vad' },
    tenants: tenants(calmMax),
  }));

  before(async () => {
    await redis.start();
    write(20);
    const base = 36000 + (process.pid % 40) * 150;
    replicas.push(...await Promise.all([0, 1, 2].map((i) => startReplica({
      WARMLINE_LEASES__REPLICAID: `tenant-replica-${i}`,
      WARMLINE_MEDIA__PORTMIN: String(base + i * 50), WARMLINE_MEDIA__PORTMAX: String(base + i * 50 + 49),
    }, ['--config', file], 120_000))));
    uac = await RawUac.bind();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const r of replicas) process.stderr.write(`--- replica stderr ---\n${r.stderr().split('\n').filter((l) => /tenant|TENANT|error/.test(l)).slice(-20).join('\n')}\n`);
  });
  after(async () => {
    for (const f of floods) if (f.child.exitCode === null) f.child.kill('SIGKILL');
    uac?.close();
    for (const r of replicas) r.kill();
    await redis.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('one tenant floods every replica: the other\'s calls all succeed, the flood never holds more than its share', async () => {
    for (const r of replicas) floods.push(sipp(r.sip, ['-sn', 'uac', '-s', '16660001', '-r', '6', '-m', '36', '-d', '4000'], 90));
    await until(async () => (await Promise.all(replicas.map((r) => refusals(r, 'flood')))).some((n) => n > 0), 'the flood refused somewhere', 30_000);
    const calm: number[] = [];
    const why: string[] = [];
    let peak = 0;
    for (const [i, r] of replicas.entries()) {
      for (let k = 0; k < 2; k++) {
        const res = await uac.invite(r.sip, `+177700000${i}${k}`, undefined, 30_000);
        calm.push(res.status);
        if (res.status !== 200) why.push(`${res.text.split('\r\n')[0]} ${res.header('warning') ?? ''}`);
        peak = Math.max(peak, await fleetCalls(r, 'flood'));
      }
    }
    assert.deepEqual(calm, [200, 200, 200, 200, 200, 200], `every call of the calm tenant answered: ${why.join('; ')}`);
    assert.ok(peak <= CAP / 4, `the flood held ${peak} calls, over its quarter of the cap`);
    await Promise.all(floods.map((f) => f.done));
    const total = (await Promise.all(replicas.map((r) => refusals(r, 'flood')))).reduce((a, b) => a + b, 0);
    assert.ok(total > 0);
    assert.equal((await Promise.all(replicas.map((r) => refusals(r, 'calm')))).reduce((a, b) => a + b, 0), 0, 'the calm tenant was never refused');
    // Its six calls, all replicas together, seen from any replica.
    const views = await Promise.all(replicas.map(async (r) => (await (await fetch(`${r.url}/api/calls`)).json()) as { active: Array<{ tenant?: string }>; recent: Array<{ tenant?: string; endReason?: string }> }));
    const here = views.map((v) => v.active.filter((c) => c.tenant === 'calm').length);
    const ended = views.flatMap((v) => v.recent.filter((c) => c.tenant === 'calm').map((c) => c.endReason));
    assert.deepEqual(here, [2, 2, 2], `calm calls per replica; ended: ${ended.join(',')}`);
    // Seen from any replica: the six calls, all replicas together (a slot lost to a stalled heartbeat comes back at the next one).
    await until(async () => (await fleetCalls(replicas[2]!, 'calm')) === 6, 'the fleet count of calm calls at 6', 10_000);
  });

  it('a limit changed on one replica binds every replica at its next call', async () => {
    // A limit of what calm holds now leaves no room anywhere.
    const held = await fleetCalls(replicas[0]!, 'calm');
    assert.ok(held > 0, 'calm calls in progress (0 would mean no limit)');
    write(held);
    const t0 = Date.now();
    const reload = await fetch(`${replicas[0]!.url}/api/admin/tenants/reload`, { method: 'POST' });
    assert.equal(reload.status, 200, await reload.text());
    let status = 0;
    let n = 0;
    await until(async () => { status = (await uac.invite(replicas[2]!.sip, `+17770001${n++}`)).status; return status === 486; }, 'replica 2 refusing past the new limit', 10_000);
    const ms = Date.now() - t0;
    // Loose: the effect is at the next admission (the limit is read from Redis), not at a poll.
    assert.ok(ms < 5000, `took ${ms} ms`);
    assert.equal(n, 1, 'the very first call after the change was refused');
    // Raised again on another replica: replica 2 takes calls again.
    write(20);
    assert.equal((await fetch(`${replicas[1]!.url}/api/admin/tenants/reload`, { method: 'POST' })).status, 200);
    assert.equal((await uac.invite(replicas[2]!.sip, '+17770002000')).status, 200);
  });

  it('a broken configuration is refused on reload, naming the key, and the limits in force stay', async () => {
    writeFileSync(file, stringify({ leases: { store: 'redis', redisUrl: redis.url }, tenants: [{ name: 'calm', limits: { maxConcurrent: -1 } }] }));
    const r = await fetch(`${replicas[0]!.url}/api/admin/tenants/reload`, { method: 'POST' });
    assert.equal(r.status, 400);
    const body = (await r.json()) as { code: string; error: string };
    assert.equal(body.code, 'WL_ERR_CONFIG_INVALID');
    assert.match(body.error, /tenants\.0\.limits\.maxConcurrent/);
    assert.equal((await usage(replicas[0]!)).find((t) => t.name === 'calm')!.effective.maxConcurrent, 20, 'the limit set before the broken file');
  });
});
