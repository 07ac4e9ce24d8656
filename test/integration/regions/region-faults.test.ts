import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gateway } from '../../../src/boot/gateway.js';
import { loadConfig, type WarmlineConfig } from '../../../src/config/index.js';
import type { PoolBase, PooledConnection } from '../../../src/pools/index.js';
import { startLocalUpstreams, type LocalServer, type LocalUpstreams } from '../../../src/local/index.js';
import { startTestGateway } from '../../support/gateway.js';
import { RawUac } from '../../support/sip-uac.js';
import { until } from '../../support/wait.js';

const NAMES = ['asr', 'tts', 'llm', 'crm'] as const;
const servers = (u: LocalUpstreams): LocalServer[] => NAMES.map((n) => u[n]);

/**
 * Three regions on loopback: us-east (the replica's, alive), eu-west (its upstreams refuse every
 * connection from boot, until revived) and ap-south (alive, the same servers as us-east behind its own
 * pools). What the regions must survive: idle zeroing, a failover whose first choice stays dead, an
 * outbound call of a tenant pinned to the dead region, a reload naming a region the process does not
 * run, and an admission hook that throws.
 */
describe('regions: faults (zeroing, hold-down, outbound, reload, a throwing admission)', function () {
  this.timeout(60_000);
  let up: LocalUpstreams;
  let down: LocalUpstreams;
  let g: Gateway;
  let uac: RawUac;
  let reloaded: WarmlineConfig | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'wl-region-faults-'));

  before(async () => {
    [up, down] = await Promise.all([startLocalUpstreams(), startLocalUpstreams()]);
    for (const s of servers(down)) await s.pause();
    const region = (name: string, u: LocalUpstreams) => {
      const caFile = join(dir, `${name}.pem`);
      writeFileSync(caFile, u.ca);
      return { name, asr: { baseUrl: u.asr.url }, tts: { baseUrl: u.tts.url }, llm: { baseUrl: u.llm.url }, crm: { baseUrl: u.crm.url }, caFile };
    };
    // A registrar nothing answers: the outbound test is refused before anything is sent to it.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as AddressInfo; s.close(() => resolve(port)); });
    });
    g = await startTestGateway({
      region: 'us-east',
      regions: [region('us-east', up), region('eu-west', down), region('ap-south', up)],
      routes: [{ did: '3*', agent: 'receptionist', routing: { rule: 'failover', regions: ['eu-west', 'ap-south'] } }, { did: '*', agent: 'receptionist' }],
      tenants: [{ name: 'resident', dids: [{ did: '+1555300*', agent: 'receptionist' }], trunks: ['acme'], routing: { rule: 'pinned', regions: ['eu-west'] } }],
      registrations: [{ id: 'acme', user: 'acme', domain: 'trunk.test', registrar: { host: '127.0.0.1', port: closed }, password: 's3cret' }],
      outbound: { trunks: [{ id: 'acme', maxConcurrent: 2, callsPerSecond: 20 }] },
      pools: { idleToZeroS: 1, backoff: { initialMs: 50, maxMs: 300, factor: 2 } },
      analytics: { enabled: false },
    } as never, { reloadConfig: () => reloaded ?? g.config });
    uac = await RawUac.bind();
  });
  after(async () => {
    uac?.close();
    await g?.close();
    await Promise.all([up?.close(), down?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const all = () => [...g.pools.asr.pools(), ...g.pools.tts.pools(), ...g.pools.llm.pools(), ...g.pools.crm.pools()] as unknown as PoolBase<PooledConnection>[];
  const poolsOf = (region: string) => all().filter((p) => p.factory.key.endsWith(`|region:${region}`));
  const asrOf = (region: string) => poolsOf(region).find((p) => p.factory.upstream === 'asr')!;
  const zeroedKeys = () => [g.pools.asr, g.pools.tts, g.pools.llm, g.pools.crm].flatMap((s) => [...s.zeroed().keys()]);
  const call = (did: string) => g.calls.view().active.find((c) => c.did === did);

  it('idle zeroing spares the standby regions; a zeroed healthy pool is alive, a dead one at floor 0 stays dead', async () => {
    // Each upstream's pool set sweeps on its own timer: every one of them has swept once all four home keys are zeroed.
    await until(() => zeroedKeys().filter((k) => k.endsWith('|region:us-east')).length === 4, 'the replica\'s own idle pools zeroed');
    assert.deepEqual(zeroedKeys().filter((k) => !k.endsWith('|region:us-east') && k.includes('|region:')), [], 'no standby key zeroed');
    for (const p of poolsOf('ap-south')) assert.ok(p.min >= 1 && p.stats().size >= 1, `${p.factory.key} still warm`);
    assert.equal(g.regions.regionHealth('us-east').alive, true, 'zeroed for want of calls is not dead');
    assert.equal(g.regions.regionHealth('eu-west').alive, false);
    // A dead pool whose floor went to 0 still says it cannot open.
    const sets = { asr: g.pools.asr, tts: g.pools.tts, llm: g.pools.llm, crm: g.pools.crm };
    const eu = poolsOf('eu-west').map((p) => ({ p, set: sets[p.factory.upstream as keyof typeof sets], floor: p.min }));
    for (const { p, set } of eu) set.setFloor(p.factory.key, 0);
    assert.deepEqual(eu.map(({ p }) => p.min), [0, 0, 0, 0]);
    assert.equal(g.regions.regionHealth('eu-west').alive, false, 'no connection and failing opens is dead, whatever the floor');
    for (const { p, set, floor } of eu) set.setFloor(p.factory.key, floor);
    // One owner of floors: a floor set while a key is zeroed is what it comes back to, not an overwrite.
    const us = asrOf('us-east');
    assert.equal(us.min, 0);
    g.pools.asr.setFloor(us.factory.key, 3);
    assert.equal(us.min, 0, 'still zeroed');
    assert.equal(g.pools.asr.zeroed().get(us.factory.key), 3);
    g.pools.asr.setFloor(us.factory.key, 2);
  });

  it('an outbound call of a tenant pinned to the dead region is refused before its INVITE (503, WL_ERR_DIAL_REFUSED)', async () => {
    const res = await fetch(`${g.opsUrl}/api/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: '+15550000001', trunk: 'acme' }) });
    const body = (await res.json()) as { code?: string; error?: string; message?: string };
    assert.equal(res.status, 503, JSON.stringify(body));
    assert.equal(body.code, 'WL_ERR_DIAL_REFUSED');
    assert.match(JSON.stringify(body), /dial refused \(region\).*pinned to region eu-west/);
    assert.equal(g.dialer.trunks.length, 1);
  });

  it('a failover whose first choice stays dead keeps the promoted pools up until that region serves again', async () => {
    assert.equal((await uac.invite(g.sip, '+35550000001')).status, 200);
    assert.deepEqual([call('+35550000001')?.region, call('+35550000001')?.failedOverFrom], ['ap-south', 'eu-west']);
    const asr = asrOf('ap-south');
    assert.equal(asr.min, 2, 'promoted to the full floor');
    for (const c of g.calls.view().active) g.calls.hangup(c.id);
    // The replica's own region is alive all along: that is no reason to lower them (it flapped).
    g.regions.sweep(Date.now() + 60_000);
    g.regions.sweep(Date.now() + 120_000);
    assert.equal(asr.min, 2, 'still promoted while eu-west is dead');
    for (const s of servers(down)) await s.resume();
    await until(() => g.regions.regionHealth('eu-west').alive, 'eu-west serves again');
    const now = Date.now() + 200_000;
    g.regions.sweep(now);
    assert.equal(asr.min, 2, 'held down: eu-west has only just come back');
    g.regions.sweep(now + 3000);
    assert.equal(asr.min, 1, 'back to the standby floor');
  });

  it('a reload naming a region this process does not run is refused, and the process keeps answering', async () => {
    assert.equal(g.regions.regionHealth('ap-east').alive, false, 'a region not running is dead');
    const next = loadConfig({
      env: {},
      overrides: {
        region: 'us-east',
        regions: [...g.config.regions, { name: 'ap-east', asr: { baseUrl: up.asr.url } }],
        routes: g.config.routes,
        tenants: [...g.config.tenants, { name: 'asia', dids: [{ did: '+1555400*', agent: 'receptionist' }], routing: { rule: 'pinned', regions: ['ap-east'] } }],
      } as never,
    });
    reloaded = { ...g.config, regions: next.regions, tenants: next.tenants };
    const r = await g.reloadTenants();
    assert.equal(r.ok, false);
    assert.ok(!r.ok && r.status === 400 && r.code === 'WL_ERR_CONFIG_INVALID', JSON.stringify(r));
    assert.match(!r.ok ? r.error : '', /tenants\.1\.routing\.regions\.0.*"ap-east".*a regions change needs a restart/);
    assert.equal(g.tenants.directory.get('asia'), undefined, 'the tenants in force stay');
    assert.equal((await uac.invite(g.sip, '+19990000001')).status, 200);
    for (const c of g.calls.view().active) g.calls.hangup(c.id);
  });

  it('an admission hook that throws answers 500, and the next call is taken', async () => {
    const admit = g.regions.admit.bind(g.regions);
    g.regions.admit = () => { throw new TypeError('a region the process cannot resolve'); };
    try {
      assert.equal((await uac.invite(g.sip, '+19990000002')).status, 500);
    } finally {
      g.regions.admit = admit;
    }
    assert.equal((await uac.invite(g.sip, '+19990000003')).status, 200);
    for (const c of g.calls.view().active) g.calls.hangup(c.id);
  });
});
