import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../../src/analytics/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import type { RegionsView } from '../../../src/boot/regions.js';
import type { PoolBase, PooledConnection } from '../../../src/pools/index.js';
import { startLocalUpstreams, type LocalServer, type LocalUpstreams, type WireRecord } from '../../../src/local/index.js';
import { viaDelayProxy, type DelayProxy } from '../../../bench/support/delay-proxy.js';
import { startTestGateway } from '../../support/gateway.js';
import { RawUac } from '../../support/sip-uac.js';
import { until } from '../../support/wait.js';

const NAMES = ['asr', 'tts', 'llm', 'crm'] as const;
const servers = (u: LocalUpstreams): LocalServer[] => NAMES.map((n) => u[n]);
const accepted = (u: LocalUpstreams): number => servers(u).reduce((n, s) => n + s.stats.connectionsAccepted, 0);
/** Connections (by the server's number) that carried the greeting's text, and those opened while recording. */
const greetingConns = (wire: WireRecord[]): number[] => wire.filter((r) => r.kind === 'text' && r.data.includes('Thanks for calling')).map((r) => r.conn);
const openedWhileRecording = (wire: WireRecord[]): Set<number> => new Set(wire.filter((r) => r.kind === 'open').map((r) => r.conn));

/**
 * Two regions on loopback: two sets of local upstreams, each behind its own TCP delay proxy (us-east
 * 10 ms RTT, eu-west 60 ms), a gateway living in us-east. Calls take the near region's warm sockets;
 * with the near upstreams dead, calls fail over to eu-west's pools, warm since boot (nothing opened
 * for the call); a tenant pinned to us-east is refused with 503 and a Warning saying why.
 */
describe('regions: near, failover and pinned across two emulated regions', function () {
  this.timeout(60_000);
  let near: LocalUpstreams;
  let far: LocalUpstreams;
  const proxies: DelayProxy[] = [];
  let g: Gateway;
  let uac: RawUac;
  const dir = mkdtempSync(join(tmpdir(), 'wl-regions-'));

  before(async () => {
    [near, far] = await Promise.all([startLocalUpstreams(), startLocalUpstreams()]);
    const region = async (name: string, u: LocalUpstreams, oneWayMs: number) => {
      const caFile = join(dir, `${name}.pem`);
      writeFileSync(caFile, u.ca);
      const ep = async (s: LocalServer) => ({ baseUrl: await viaDelayProxy(s.url, oneWayMs, proxies) });
      return { name, asr: await ep(u.asr), tts: await ep(u.tts), llm: await ep(u.llm), crm: await ep(u.crm), caFile };
    };
    g = await startTestGateway({
      region: 'us-east',
      regions: [await region('us-east', near, 5), await region('eu-west', far, 30)],
      tenants: [{ name: 'resident', dids: [{ did: '+1555300*', agent: 'receptionist' }], routing: { rule: 'pinned', regions: ['us-east'] } }],
      analytics: { dataDir: dir },
    } as never);
    uac = await RawUac.bind();
  });
  after(async () => {
    uac?.close();
    await g?.close();
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all([near?.close(), far?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const regions = async () => ((await (await fetch(`${g.opsUrl}/api/regions`)).json()) as { regions: RegionsView[] }).regions;
  const poolsOf = (region: string) => ([...g.pools.asr.pools(), ...g.pools.tts.pools(), ...g.pools.llm.pools(), ...g.pools.crm.pools()] as unknown as PoolBase<PooledConnection>[])
    .filter((p) => p.factory.key.endsWith(`|region:${region}`));
  const call = (did: string) => g.calls.view().active.find((c) => c.did === did);
  /**
   * Connections a region's pools opened for anything but a replacement (a keepalive failure or a
   * retirement replaces a socket whenever it likes), and what its servers accepted: a call that
   * opens nothing leaves the first unchanged, and the second moves only with the pools' own opens.
   */
  const opened = (region: string, u: LocalUpstreams, only?: (typeof NAMES)[number]) => {
    const pools = poolsOf(region).filter((p) => !only || p.factory.upstream === only).map((p) => p.stats());
    return {
      forCalls: pools.reduce((n, s) => n + s.opens - s.replacements, 0),
      byPools: pools.reduce((n, s) => n + s.opens, 0),
      accepted: only ? u[only].stats.connectionsAccepted : accepted(u),
    };
  };
  const noneForTheCall = (before: ReturnType<typeof opened>, after: ReturnType<typeof opened>, what: string) => {
    assert.equal(after.forCalls, before.forCalls, `${what}: no connection opened for the call`);
    assert.equal(after.accepted - before.accepted, after.byPools - before.byPools, `${what}: the servers accepted only the pools' replacements`);
  };
  /** Calls counted for a region and outcome, every rule together. */
  const metric = async (region: string, outcome: string) => [...(await g.registry.metrics()).matchAll(new RegExp(`^warmline_region_calls_total\\{region="${region}",rule="[a-z]+",outcome="${outcome}"\\} (\\d+)$`, 'gm'))]
    .reduce((n, m) => n + Number(m[1]), 0);

  it('warms both regions at boot: the replica\'s own at the full floor, the far one at its standby floor', () => {
    const floors = (r: string) => Object.fromEntries(poolsOf(r).map((p) => [p.factory.upstream, p.stats().size]));
    assert.deepEqual(floors('us-east'), { asr: 2, tts: 1, llm: 1, crm: 1 });
    assert.deepEqual(floors('eu-west'), { asr: 1, tts: 1, llm: 1, crm: 1 });
    assert.equal(opened('eu-west', far).forCalls, 4, 'the far region\'s pools opened their floors before any call');
    assert.ok(accepted(far) >= 4, 'the far servers hold them');
  });

  it('a call takes the near region\'s warm sockets: the near TTS speaks its greeting, nothing opens anywhere', async () => {
    const wire = { near: near.tts.recordWire(), far: far.tts.recordWire() };
    const before = { near: opened('us-east', near), far: opened('eu-west', far) };
    assert.equal((await uac.invite(g.sip, '+19990000001')).status, 200);
    assert.equal(call('+19990000001')?.region, 'us-east');
    assert.equal(call('+19990000001')?.failedOverFrom, undefined);
    await until(() => greetingConns(wire.near).length > 0, 'the greeting at the near TTS');
    assert.deepEqual(greetingConns(wire.far), [], 'the far region served nothing');
    assert.equal(openedWhileRecording(wire.near).size, 0, 'the greeting went on a socket opened before the call');
    noneForTheCall(before.near, opened('us-east', near), 'us-east');
    noneForTheCall(before.far, opened('eu-west', far), 'eu-west');
    assert.equal((await uac.invite(g.sip, '+15553000001')).status, 200, 'the pinned tenant\'s region is alive');
    assert.equal(call('+15553000001')?.region, 'us-east');
    assert.equal(await metric('us-east', 'near'), 2);
  });

  it('with the near upstreams dead, calls fail over to the far region\'s warm pools (0 opened for them)', async () => {
    for (const c of g.calls.view().active) g.calls.hangup(c.id);
    for (const s of servers(near)) {
      await s.pause();
      s.dropConnections();
    }
    await until(async () => (await regions()).find((r) => r.region === 'us-east')?.alive === false, 'us-east seen dead');
    assert.equal(g.readiness().ready, true, 'a dead region with a live one beside it does not make the replica unready');
    const wire = far.tts.recordWire();
    const before = opened('eu-west', far, 'tts');
    assert.equal((await uac.invite(g.sip, '+19990000002')).status, 200);
    assert.equal(call('+19990000002')?.region, 'eu-west');
    assert.equal(call('+19990000002')?.failedOverFrom, 'us-east');
    await until(() => greetingConns(wire).length > 0, 'the greeting at the far TTS');
    for (const conn of greetingConns(wire)) assert.ok(!openedWhileRecording(wire).has(conn), 'the greeting went on a socket warm since boot');
    noneForTheCall(before, opened('eu-west', far, 'tts'), 'eu-west TTS');
    const asr = poolsOf('eu-west').find((p) => p.factory.upstream === 'asr')!;
    assert.equal(asr.stats().inUse, 1, 'the call holds the far region\'s ASR socket');
    assert.equal(asr.min, 2, 'the far pool now holds the full floor while it serves');
    assert.equal(await metric('eu-west', 'failover'), 1);
    // The dashboard's call list says it too.
    const dash = (await (await fetch(`${g.opsUrl}/api/analytics/calls`)).json()) as { active: Array<{ did: string; region: string | null; failedOverFrom: string | null }> };
    const row = dash.active.find((c) => c.did.endsWith('9990000002'));
    assert.deepEqual([row?.region, row?.failedOverFrom], ['eu-west', 'us-east'], JSON.stringify(dash.active));
  });

  it('a tenant pinned to the dead region is refused with 503 and why, never served from the other', async () => {
    const r = await uac.invite(g.sip, '+15553000002');
    assert.equal(r.status, 503);
    assert.match(r.header('warning') ?? '', /tenant resident pinned to region us-east, which cannot serve now/);
    assert.equal(call('+15553000002'), undefined);
    assert.equal(await metric('us-east', 'refused'), 1);
  });

  it('the near region back: calls return to it, and the far pools to their standby floor', async () => {
    for (const c of g.calls.view().active) g.calls.hangup(c.id);
    for (const s of servers(near)) await s.resume();
    await until(async () => (await regions()).find((r) => r.region === 'us-east')?.alive === true, 'us-east alive again');
    assert.equal((await uac.invite(g.sip, '+19990000003')).status, 200);
    assert.equal(call('+19990000003')?.region, 'us-east');
    const asr = poolsOf('eu-west').find((p) => p.factory.upstream === 'asr')!;
    await until(() => asr.min === 1, 'the far ASR pool back to its standby floor');
  });

  it('the calls\' analytics rows say their region and which one failed over, and the region refusal', async () => {
    for (const c of g.calls.view().active) g.calls.hangup(c.id);
    await g.close();
    const store = await openStore({ url: '', dataDir: dir, schema: '' });
    try {
      const rows = await store.query<{ did: string; region: string | null; failover_from: string | null; refusal: string | null }>('SELECT did, region, failover_from, refusal FROM calls ORDER BY started_at');
      const by = (did: string) => rows.find((r) => r.did === did);
      assert.deepEqual({ ...by('+19990000001') }, { did: '+19990000001', region: 'us-east', failover_from: null, refusal: null });
      assert.deepEqual({ ...by('+19990000002') }, { did: '+19990000002', region: 'eu-west', failover_from: 'us-east', refusal: null });
      assert.deepEqual({ ...by('+15553000002') }, { did: '+15553000002', region: 'us-east', failover_from: null, refusal: 'region' });
    } finally {
      await store.close();
    }
  });
});

/** A region unreachable at boot does not keep the replica from taking calls: they go where a rule allows. */
describe('regions: a region dead at boot', function () {
  this.timeout(30_000);
  let up: LocalUpstreams;
  let g: Gateway;
  let uac: RawUac;
  const dir = mkdtempSync(join(tmpdir(), 'wl-regions-dead-'));

  before(async () => {
    up = await startLocalUpstreams();
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, up.ca);
    // A port nothing listens on: every open is refused.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as AddressInfo; s.close(() => resolve(port)); });
    });
    const dead = { asr: { baseUrl: `wss://127.0.0.1:${closed}` }, tts: { baseUrl: `wss://127.0.0.1:${closed}` }, llm: { baseUrl: `https://127.0.0.1:${closed}` }, crm: { baseUrl: `https://127.0.0.1:${closed}` } };
    g = await startTestGateway({
      region: 'us-east',
      regions: [{ name: 'us-east', asr: { baseUrl: up.asr.url }, tts: { baseUrl: up.tts.url }, llm: { baseUrl: up.llm.url }, crm: { baseUrl: up.crm.url }, caFile }, { name: 'eu-west', ...dead }],
      routes: [{ did: '2*', agent: 'receptionist', routing: { rule: 'failover', regions: ['eu-west', 'us-east'] } }, { did: '*', agent: 'receptionist' }],
      analytics: { enabled: false },
    } as never);
    uac = await RawUac.bind();
  });
  after(async () => {
    uac?.close();
    await g?.close();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is ready, says which region is dead, and a failover rule skips it', async () => {
    assert.equal(g.readiness().ready, true, g.readiness().reasons.join('; '));
    const list = ((await (await fetch(`${g.opsUrl}/api/regions`)).json()) as { regions: RegionsView[] }).regions;
    assert.deepEqual(list.map((r) => [r.region, r.alive]), [['us-east', true], ['eu-west', false]]);
    assert.match(list[1]!.why ?? '', /0\/\d warm/);
    assert.equal((await uac.invite(g.sip, '+15550000001')).status, 200);
    assert.equal((await uac.invite(g.sip, '+25550000001')).status, 200);
    const active = g.calls.view().active;
    assert.deepEqual(active.map((c) => [c.region, c.failedOverFrom]).sort(), [['us-east', undefined], ['us-east', 'eu-west']]);
  });
});
