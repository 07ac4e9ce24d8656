import assert from 'node:assert/strict';
import { RegionRouter } from '../../../src/regions/index.js';
import { loadConfig, ConfigInvalidError } from '../../../src/config/index.js';

const regions = ['us-east', 'eu-west', 'ap-south'];

describe('regions: the router\'s rules', () => {
  const rtt: Record<string, number | undefined> = { 'us-east': 12, 'eu-west': 80, 'ap-south': 40 };
  const router = new RegionRouter({ home: 'us-east', regions, fallback: { rule: 'nearest', regions: [] }, rttMs: (n) => rtt[n] });
  const alive = (...up: string[]) => (n: string) => (up.includes(n) ? { alive: true } : { alive: false, why: 'asr 0/2 warm' });

  it('nearest: the replica\'s own region first, then the others by measured round trip, unmeasured last', () => {
    assert.deepEqual(router.candidates(undefined), ['us-east', 'ap-south', 'eu-west']);
    rtt['ap-south'] = undefined;
    assert.deepEqual(router.candidates(undefined), ['us-east', 'eu-west', 'ap-south']);
    rtt['ap-south'] = 40;
    assert.deepEqual(router.candidates({ rule: 'nearest', regions: ['eu-west', 'ap-south'] }), ['ap-south', 'eu-west'], 'home not a candidate: lowest RTT first');
  });

  it('chooses the first alive candidate and says which one it failed over from', () => {
    assert.deepEqual(router.choose(undefined, alive('us-east', 'eu-west', 'ap-south')), { ok: true, region: 'us-east', rule: 'nearest' });
    assert.deepEqual(router.choose(undefined, alive('eu-west', 'ap-south')), { ok: true, region: 'ap-south', rule: 'nearest', failedOverFrom: 'us-east' });
    assert.deepEqual(router.choose({ rule: 'failover', regions: ['eu-west', 'us-east'] }, alive('us-east')), { ok: true, region: 'us-east', rule: 'failover', failedOverFrom: 'eu-west' });
  });

  it('pinned never looks past its region', () => {
    const c = router.choose({ rule: 'pinned', regions: ['eu-west'] }, alive('us-east', 'ap-south'));
    assert.equal(c.ok, false);
    assert.ok(!c.ok && /pinned to region eu-west, which cannot serve \(eu-west: asr 0\/2 warm\)/.test(c.why), !c.ok ? c.why : '');
    assert.deepEqual(!c.ok && c.tried, ['eu-west']);
  });

  it('reachable: every region any rule may use (what is kept warm)', () => {
    const pinnedOnly = new RegionRouter({ home: 'us-east', regions, fallback: { rule: 'pinned', regions: ['us-east'] }, rttMs: () => undefined });
    assert.deepEqual([...pinnedOnly.reachable([])], ['us-east']);
    assert.deepEqual([...pinnedOnly.reachable([{ rule: 'failover', regions: ['eu-west', 'us-east'] }])].sort(), ['eu-west', 'us-east']);
  });
});

describe('regions: configuration checks', () => {
  const two = [{ name: 'us-east', asr: { baseUrl: 'wss://us.example.com' } }, { name: 'eu-west', asr: { baseUrl: 'wss://eu.example.com' } }];
  const load = (o: object) => loadConfig({ env: {}, overrides: o as never });

  it('a single-region configuration is unchanged: no region, no regions', () => {
    const c = load({});
    assert.equal(c.region, '');
    assert.deepEqual(c.regions, []);
  });

  it('names what is wrong: the replica\'s region, an unknown region in a rule, a pinned rule with two', () => {
    assert.throws(() => load({ regions: two }), (e: unknown) => e instanceof ConfigInvalidError && /region/.test(e.message));
    assert.throws(() => load({ region: 'us-east', regions: two, routing: { rule: 'failover', regions: ['mars'] } }), (e: unknown) => e instanceof ConfigInvalidError && /routing\.regions\.0/.test(e.message));
    assert.throws(() => load({ region: 'us-east', regions: two, tenants: [{ name: 'a', dids: [{ did: '1*', agent: 'receptionist' }], routing: { rule: 'pinned', regions: ['us-east', 'eu-west'] } }] }),
      (e: unknown) => e instanceof ConfigInvalidError && /tenants\.0\.routing\.regions/.test(e.message));
    assert.equal(load({ region: 'us-east', regions: two }).regions[1]!.caFile, '');
  });
});
