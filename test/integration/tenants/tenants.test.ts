import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../../src/analytics/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import { loadConfig, ConfigInvalidError } from '../../../src/config/index.js';
import type { TenantUsage } from '../../../src/tenants/index.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { RawUac } from '../../support/sip-uac.js';
import { until } from '../../support/wait.js';

const LOCAL_KEY = loadConfig({ env: {} }).local.apiKey;
const tenants = (acmeMax: number) => [
  {
    name: 'acme', dids: [{ did: '+1555100*', agent: 'sales' }],
    agents: { sales: { systemPrompt: 'You sell anvils.', voiceId: 'acme-voice', asrModel: 'nova-3-medical' } },
    limits: { maxConcurrent: acmeMax },
  },
  // Bolt brings the same account as the gateway's: its calls share the gateway's pools.
  { name: 'bolt', dids: [{ did: '+1555200*', agent: 'receptionist' }], keys: { asr: { apiKey: LOCAL_KEY } }, limits: { cps: 0.2, burst: 1 } },
];

/**
 * One gateway, the memory store: calls are attributed to their tenant by the DID, a tenant over
 * its concurrent calls gets 486 and over its calls per second 503 with Retry-After, before any
 * upstream is leased; a reload takes new limits, and a broken one is refused with the old kept.
 */
describe('tenants: attribution, limits and reload on one replica', function () {
  this.timeout(60_000);
  let g: Gateway;
  let uac: RawUac;
  const dataDir = mkdtempSync(join(tmpdir(), 'wl-tenants-analytics-'));

  before(async () => {
    g = await startTestGateway({ tenants: tenants(2) as never, media: { rtpTimeoutMs: 30_000 }, analytics: { dataDir } });
    uac = await RawUac.bind();
  });
  after(async () => {
    uac.close();
    await g.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const refusals = async (tenant: string, reason: string) => {
    const m = new RegExp(`^warmline_tenant_refusals_total\\{tenant="${tenant}",reason="${reason}"\\} (\\d+)$`, 'm').exec(await g.registry.metrics());
    return Number(m?.[1] ?? 0);
  };
  const byTenant = (t: string) => g.calls.view().active.filter((c) => c.tenant === t);

  it('attributes calls by DID, and answers 486 past a tenant\'s concurrent calls, leasing nothing for it', async () => {
    assert.equal((await uac.invite(g.sip, '+15551000001')).status, 200);
    assert.equal((await uac.invite(g.sip, '+15551000002')).status, 200);
    assert.equal(byTenant('acme').length, 2);
    assert.equal(byTenant('acme')[0]!.agent, 'sales', "the tenant's own agent");
    const held = leasesOut(g);
    const third = await uac.invite(g.sip, '+15551000003');
    assert.equal(third.status, 486);
    assert.match(third.header('warning') ?? '', /tenant acme at its concurrent calls limit/);
    assert.equal(leasesOut(g), held, 'the refused call leased nothing');
    assert.equal(await refusals('acme', 'concurrency'), 1);
    // Other tenants and the default tenant are not affected.
    const other = await uac.invite(g.sip, '+19990000001');
    assert.equal(other.status, 200);
    assert.equal(g.calls.view().active.find((c) => c.did === '+19990000001')?.tenant, 'default');
  });

  it('keys pools by model, voice and account: a tenant\'s own agent has its own, equal parameters share one', () => {
    const asr = g.pools.asr.pools().map((p) => p.factory.key);
    const tts = g.pools.tts.pools().map((p) => p.factory.key);
    assert.equal(asr.length, 2, asr.join(' / '));
    assert.ok(asr.some((k) => k.includes('|nova-3-medical|')), 'acme\'s model warmed at boot');
    assert.ok(tts.some((k) => k.includes('|acme-voice|')), 'acme\'s voice warmed at boot');
    assert.ok(!asr.some((k) => k.includes('|acct:')), 'bolt\'s account is the gateway\'s: no pool of its own');
    const sales = g.pools.asr.pools().find((p) => p.factory.key.includes('|nova-3-medical|'))!;
    assert.equal(sales.stats().inUse, 2, 'acme\'s two calls hold sockets of its own pool');
  });

  it('answers 503 with Retry-After past a tenant\'s calls per second', async () => {
    assert.equal((await uac.invite(g.sip, '+15552000001')).status, 200);
    const second = await uac.invite(g.sip, '+15552000002');
    assert.equal(second.status, 503);
    assert.ok(Number(second.header('retry-after')) >= 1, `Retry-After: ${second.header('retry-after')}`);
    assert.equal(await refusals('bolt', 'cps'), 1);
  });

  it('/api/tenants shows each tenant with its usage', async () => {
    const list = (await (await fetch(`${g.opsUrl}/api/tenants`)).json()) as TenantUsage[];
    const acme = list.find((t) => t.name === 'acme')!;
    assert.equal(acme.usage.calls, 2);
    assert.equal(acme.usage.refusals.concurrency, 1);
    assert.deepEqual(list.map((t) => t.name), ['acme', 'bolt', 'default']);
    // The dashboard's tenant filter.
    const calls = (await (await fetch(`${g.opsUrl}/api/analytics/calls?tenant=acme`)).json()) as { active: Array<{ tenant: string }> };
    assert.deepEqual(calls.active.map((c) => c.tenant), ['acme', 'acme']);
  });

  it('a broken reload is refused naming the key, and the tenants in force stay', async () => {
    const broken = loadConfig({ env: {}, overrides: { tenants: [{ name: 'acme', dids: [{ did: '+1555100*', agent: 'nobody' }] }] as never } });
    await assert.rejects(g.tenants.reload(broken), (e: unknown) => e instanceof ConfigInvalidError && /tenants\.0\.dids\.0\.agent/.test(e.message));
    assert.equal((await uac.invite(g.sip, '+15551000004')).status, 486, 'still the old limit');
  });

  it('a reload takes the new limits at once', async () => {
    await g.tenants.reload(loadConfig({ env: {}, overrides: { tenants: tenants(3) as never } }));
    assert.equal((await uac.invite(g.sip, '+15551000005')).status, 200);
    assert.equal(byTenant('acme').length, 3);
  });

  it('every slot is given back when the calls end', async () => {
    for (const c of g.calls.view().active) g.calls.hangup(c.id);
    await until(() => g.calls.activeCount === 0 && Object.keys(g.tenants.admission.localCalls()).length === 0, 'calls and their tenant slots gone');
    assert.equal((await uac.invite(g.sip, '+15551000006')).status, 200);
  });

  it('each refusal and each call leaves an analytics row naming its tenant (and why it was refused)', async () => {
    await g.close();
    const store = await openStore({ url: '', dataDir, schema: '' });
    try {
      const rows = await store.query<{ tenant: string; end_reason: string; refusal: string | null }>('SELECT tenant, end_reason, refusal FROM calls ORDER BY tenant, refusal');
      const refused = rows.filter((r) => r.end_reason === 'refused').map((r) => `${r.tenant}:${r.refusal}`);
      assert.deepEqual(refused.sort(), ['acme:concurrency', 'acme:concurrency', 'bolt:cps']);
      assert.ok(rows.some((r) => r.tenant === 'acme' && r.end_reason !== 'refused' && r.refusal === null), 'answered calls carry their tenant');
      assert.ok(rows.some((r) => r.tenant === 'default'));
    } finally {
      await store.close();
    }
  });
});
