import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { startOpsServer, type OpsServer } from '../../../src/http/index.js';
import { gatewayAdmin } from '../../../src/boot/ops-admin.js';
import { ExclusivePool, type PoolBase, type PooledConnection } from '../../../src/pools/index.js';
import { FakeFactory, until } from '../../support/fake-factory.js';
import { capturedLogger } from '../../support/log-capture.js';

const TOKEN = 'oncall-0123456789abcdef';

describe('http: admin actions', () => {
  let server: OpsServer;
  const cap = capturedLogger('info');
  const factory = new FakeFactory('asr:en-US');
  const pool = new ExclusivePool({ name: 'asr', factory, min: 1, max: 4 });
  const active = new Set(['call-1']);
  let drains = 0;
  const post = (path: string, body?: unknown, token: string | undefined = TOKEN) => fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { ...(token && { authorization: `Bearer ${token}` }), 'content-type': 'application/json' },
    ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

  before(async () => {
    pool.start();
    await pool.whenReady();
    const admin = gatewayAdmin({
      hangup: (id) => active.delete(id),
      poolsOf: (u) => (u === 'asr' ? [pool as unknown as PoolBase<PooledConnection>] : u === 'tts' ? [] : undefined),
      drain: async () => { drains++; },
      log: cap.log,
    });
    server = await startOpsServer('127.0.0.1', 0, { registry: new Registry(), readiness: () => ({ ready: true, reasons: [] }), pools: () => [], calls: () => ({}), admin }, cap.log, { tokens: [{ name: 'oncall', token: TOKEN }], probes: 'loopback', probesPort: 0 });
  });
  after(async () => { await server.close(); await pool.close(); });

  it('hangs up an active call and logs who did it; an unknown call is 404 and logged too', async () => {
    const res = await post('/api/admin/calls/call-1/hangup');
    assert.equal(res.status, 200);
    assert.equal(active.has('call-1'), false);
    assert.equal((await post('/api/admin/calls/call-9/hangup')).status, 404);
    const lines = cap.lines().filter((l) => l.msg === 'admin action' && l.action === 'hangup');
    assert.deepEqual(lines.map((l) => [l.who, l.callId, l.outcome]), [['oncall', 'call-1', 'hung up'], ['oncall', 'call-9', 'no such call']]);
  });

  it('resizes a pool floor at run time: the pool opens up to it, and the action is logged', async () => {
    const res = await post('/api/admin/pools/asr/floor', { min: 3 });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true, upstream: 'asr', min: 3, pools: 1 });
    await until(() => pool.stats().size === 3, 'the pool to open its new floor');
    assert.equal(pool.min, 3);
    const line = cap.lines().find((l) => l.action === 'pool-floor' && l.min === 3);
    assert.equal(line?.who, 'oncall');
  });

  it('refuses a floor above max, a bad body and an unknown upstream, changing nothing', async () => {
    assert.equal((await post('/api/admin/pools/asr/floor', { min: 5 })).status, 400);
    assert.equal((await post('/api/admin/pools/asr/floor', { min: -1 })).status, 400);
    assert.equal((await post('/api/admin/pools/asr/floor', '{not json')).status, 400);
    assert.equal((await post('/api/admin/pools/asr/floor', 'x'.repeat(10_000))).status, 400);
    assert.equal((await post('/api/admin/pools/dns/floor', { min: 1 })).status, 404);
    assert.equal(pool.min, 3);
  });

  it('drain is accepted once (202) however often it is asked, and logged', async () => {
    assert.equal((await post('/api/admin/drain')).status, 202);
    assert.equal((await post('/api/admin/drain')).status, 202);
    assert.equal(drains, 1);
    assert.equal(cap.lines().filter((l) => l.action === 'drain' && l.who === 'oncall').length, 2);
  });

  it('without a token nothing happens: 401, and no admin action is logged', async () => {
    const before = cap.lines().filter((l) => l.msg === 'admin action').length;
    active.add('call-2');
    assert.equal((await post('/api/admin/calls/call-2/hangup', undefined, '')).status, 401);
    assert.equal((await post('/api/admin/calls/call-2/hangup', undefined, 'wrong-token-000000000')).status, 401);
    assert.equal(active.has('call-2'), true);
    assert.equal(cap.lines().filter((l) => l.msg === 'admin action').length, before);
  });

  it('admin routes are POST only', async () => {
    const res = await fetch(`${server.url}/api/admin/drain`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 405);
  });
});
