import assert from 'node:assert/strict';
import type { Gateway } from '../../../src/boot/gateway.js';
import { until } from '../../support/wait.js';
import { closeTrunkRig, openTrunkRig, startUas, trunkAccount, type Api, type Trunk } from './support.js';

/**
 * Tenants' limits on the calls we place: a trunk belongs to a tenant, and each dial is admitted
 * (fleet-wide, the same Lua script as inbound) before anything is sent. Over its concurrent calls:
 * 503; over its calls per second: 429 with Retry-After. An ended call gives its place back.
 */
describe('outbound: tenant limits (admitTrunk) on POST /api/calls', function () {
  this.timeout(90_000);
  let t: Trunk;
  let g: Gateway;
  let a: Api;

  before(async () => {
    ({ t, g, a } = await openTrunkRig((t) => ({
      registrations: [
        trunkAccount(t, 'acme', 's3cret'),
        trunkAccount(t, 'bolt', 's3cret'),
      ],
      outbound: { ringTimeoutS: 20, trunks: [{ id: 'acme', maxConcurrent: 10, callsPerSecond: 50 }, { id: 'bolt', maxConcurrent: 10, callsPerSecond: 50 }] },
      tenants: [
        { name: 'acme', trunks: ['acme'], limits: { maxConcurrent: 1 } },
        { name: 'bolt', trunks: ['bolt'], limits: { cps: 0.1, burst: 1 } },
      ],
    })));
  });
  after(() => closeTrunkRig({ t, g }));

  it('over the tenant\'s concurrent calls: 503 WL_ERR_DIAL_REFUSED; once the first ends, the next is placed', async () => {
    const uas = await startUas('uas-ring.xml', t.uasPort, t.mediaPort, 2);
    try {
      const first = await a.post({ to: '+15550000201', trunk: 'acme' });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const id = first.body.id as string;
      await a.until(id, (v) => v.state === 'ringing', 'ringing');
      const over = await a.post({ to: '+15550000202', trunk: 'acme' });
      assert.equal(over.status, 503, JSON.stringify(over.body));
      assert.equal(over.body.code, 'WL_ERR_DIAL_REFUSED');
      assert.match(String(over.body.error), /tenant-limit.*tenant acme at 1 concurrent calls/);
      const acme = (await g.tenants.usage()).find((t) => t.name === 'acme');
      assert.equal(acme?.usage.refusals.concurrency, 1, 'the refusal is counted for the tenant');
      assert.equal(acme?.usage.calls, 1, 'the ringing call counts');
      assert.equal((await a.del(id)).status, 200);
      await a.until(id, (v) => v.state === 'ended', 'cancelled');
      // The ended call's place is back: the next one is admitted and placed.
      let next: Awaited<ReturnType<Api['post']>> | undefined;
      await until(async () => (next = await a.post({ to: '+15550000203', trunk: 'acme' })).status === 201, 'admitted again', 10_000);
      const nid = next!.body.id as string;
      await a.until(nid, (v) => v.state === 'ringing', 'ringing');
      await a.del(nid);
      await a.until(nid, (v) => v.state === 'ended', 'cancelled');
      assert.equal((await uas.done).code, 0);
    } finally { uas.stop(); }
  });

  it('over the tenant\'s calls per second: 429 with Retry-After, nothing sent', async () => {
    const uas = await startUas('uas-ring.xml', t.uasPort, t.mediaPort, 1);
    try {
      const first = await a.post({ to: '+15550000301', trunk: 'bolt' });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      const res = await fetch(`${g.opsUrl}/api/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: '+15550000302', trunk: 'bolt' }) });
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 429, JSON.stringify(body));
      assert.equal(body.code, 'WL_ERR_DIAL_REFUSED');
      assert.match(String(body.error), /tenant-rate/);
      assert.ok(Number(res.headers.get('retry-after')) >= 1, `Retry-After: ${res.headers.get('retry-after')}`);
      const id = first.body.id as string;
      await a.until(id, (v) => v.state === 'ringing', 'ringing');
      await a.del(id);
      await a.until(id, (v) => v.state === 'ended', 'cancelled');
      assert.equal((await uas.done).code, 0, 'the callee saw one INVITE only');
    } finally { uas.stop(); }
  });
});
