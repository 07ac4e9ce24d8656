import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { DemoCredentials } from '../../../src/demo/credentials.js';
import { TenantDirectory } from '../../../src/tenants/index.js';

describe('tenants: who owns a DID, a trunk, a demo session', () => {
  const config = loadConfig({
    env: {},
    overrides: {
      tenants: [
        { name: 'acme', dids: [{ did: '+1555100*', agent: 'sales' }, { did: '+15552000000', agent: 'receptionist' }], agents: { sales: { systemPrompt: 'Sell.', asrModel: 'nova-3' } }, trunks: ['telnyx-acme'], demo: true },
        { name: 'bolt', dids: [{ did: '+1555200*', agent: 'receptionist' }], demo: true },
      ] as never,
    },
  });
  const dir = new TenantDirectory(config.tenants, config.routes, config.agents);

  it('routes a DID to its tenant and agent, the rest to the default tenant', () => {
    assert.deepEqual({ ...dir.route('15551001234'), profile: undefined }, { agent: 'sales', tenant: 'acme', asrModel: 'nova-3', profile: undefined });
    assert.equal(dir.route('+15552000000')?.tenant, 'acme', 'the first tenant listing a number wins');
    assert.equal(dir.route('+15552000001')?.tenant, 'bolt');
    assert.deepEqual([dir.route('+4420')?.tenant, dir.route('+4420')?.agent], ['default', 'receptionist']);
  });

  it('attributes a trunk, and a demo session that names a tenant with demo access', () => {
    assert.equal(dir.trunkTenant('telnyx-acme'), 'acme');
    assert.equal(dir.trunkTenant('other'), 'default');
    assert.deepEqual(dir.demoTenant('bolt'), { ok: true, tenant: 'bolt' });
    assert.deepEqual(dir.demoTenant(undefined), { ok: true, tenant: 'acme' });
    assert.equal(dir.demoTenant('nobody').ok, false);
    assert.deepEqual(new TenantDirectory([], config.routes, config.agents).demoTenant(undefined), { ok: true, tenant: 'default' });
  });

  it('a demo credential names its tenant', () => {
    const creds = new DemoCredentials({ ttlMs: 60_000, perMinute: 10, maxConcurrentCalls: 2, activeCalls: () => 0 });
    const c = creds.issue('127.0.0.1', 'bolt');
    assert.ok(!('error' in c));
    assert.equal(c.tenant, 'bolt');
    assert.equal(creds.tenantOf(c.username), 'bolt');
  });
});
