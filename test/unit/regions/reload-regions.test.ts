import assert from 'node:assert/strict';
import { loadConfig, ConfigInvalidError, type WarmlineConfig } from '../../../src/config/index.js';
import { checkTenantRegions } from '../../../src/tenants/index.js';

const region = (name: string) => ({ name, asr: { baseUrl: `wss://${name}.example.test` } });
const config = (names: string[], tenants: unknown[]): WarmlineConfig => loadConfig({
  env: {},
  overrides: { region: names[0] ?? '', regions: names.map(region), tenants } as never,
});

/** A reload takes tenants, never regions: a rule naming a region the running process lacks is refused. */
describe('regions: a tenants reload against the regions running', () => {
  const running = config(['us-east', 'eu-west'], []);

  it('takes rules naming running regions (and nearest over every region)', () => {
    const next = config(['us-east', 'eu-west'], [{ name: 'a', dids: [{ did: '+1555*', agent: 'receptionist', routing: { rule: 'failover', regions: ['eu-west', 'us-east'] } }], routing: { rule: 'nearest', regions: [] } }]);
    checkTenantRegions(running, next);
  });

  it('refuses a tenant\'s or a DID\'s rule naming a region added in the file, naming the key', () => {
    const next = config(['us-east', 'eu-west', 'ap-east'], [
      { name: 'a', routing: { rule: 'pinned', regions: ['ap-east'] } },
      { name: 'b', dids: [{ did: '+1555*', agent: 'receptionist', routing: { rule: 'failover', regions: ['us-east', 'ap-east'] } }] },
    ]);
    assert.throws(() => checkTenantRegions(running, next), (e: unknown) => e instanceof ConfigInvalidError
      && /tenants\.0\.routing\.regions\.0/.test(e.message) && /tenants\.1\.dids\.0\.routing\.regions\.1/.test(e.message) && /a regions change needs a restart/.test(e.message));
  });

  it('refuses any region when the process runs none', () => {
    const next = config(['us-east'], [{ name: 'a', routing: { rule: 'pinned', regions: ['us-east'] } }]);
    assert.throws(() => checkTenantRegions(config([], []), next), /this process runs none.*a regions change needs a restart/);
  });
});
