import assert from 'node:assert/strict';
import { loadConfig, ConfigInvalidError } from '../../../src/config/index.js';
import type { TenantLimits } from '../../../src/config/schema-tenants.js';
import { MemoryTenantLimitStore, decide, sipAnswer } from '../../../src/tenants/index.js';

const L = (l: Partial<TenantLimits>): TenantLimits => ({ maxConcurrent: 0, cps: 0, burst: 0, shares: {}, ...l });

describe('tenants: the admission rule', () => {
  it('refuses at maxConcurrent, and at a share\'s max, naming the upstream', () => {
    const limits: Record<string, TenantLimits> = { a: L({ maxConcurrent: 2 }), b: L({ shares: { asr: { min: 0, max: 0.5 } } }) };
    assert.deepEqual(decide('a', { a: 2, b: 0 }, (t) => limits[t], {}), { reason: 'concurrency' });
    assert.equal(decide('a', { a: 1, b: 0 }, (t) => limits[t], {}), undefined);
    assert.deepEqual(decide('b', { a: 0, b: 5 }, (t) => limits[t], { asr: 10 }), { reason: 'share', upstream: 'asr' });
    assert.equal(decide('b', { a: 0, b: 4 }, (t) => limits[t], { asr: 10 }), undefined);
  });

  it('keeps the part of a cap another tenant reserves and does not use yet', () => {
    const limits: Record<string, TenantLimits> = { flood: L({}), calm: L({ shares: { asr: { min: 0.3, max: 1 } } }) };
    // Cap 10, calm reserves 3 and uses 1: the flood may reach 10 - 3 = 7 calls, not more.
    assert.equal(decide('flood', { flood: 6, calm: 1 }, (t) => limits[t], { asr: 10 }), undefined);
    assert.deepEqual(decide('flood', { flood: 7, calm: 1 }, (t) => limits[t], { asr: 10 }), { reason: 'share', upstream: 'asr' });
    // Calm itself may use its reservation.
    assert.equal(decide('calm', { flood: 7, calm: 2 }, (t) => limits[t], { asr: 10 }), undefined);
  });

  it('a token bucket: burst at once, then cps, with the wait in Retry-After; a refused call spends no token', async () => {
    let now = 0;
    const store = new MemoryTenantLimitStore(() => now);
    await store.publish({ a: L({ cps: 2, burst: 2, maxConcurrent: 3 }) }, 'replace');
    const admit = () => store.admit({ tenants: ['a'], caps: {}, fallback: {}, ttlMs: 60_000, owner: 'r' });
    assert.equal((await admit()).ok, true);
    assert.equal((await admit()).ok, true);
    const third = await admit();
    assert.ok(!third.ok && third.reason === 'cps' && third.retryAfterMs === 500, JSON.stringify(third));
    now = 500;
    assert.equal((await admit()).ok, true);
    now = 5000;
    const fourth = await admit();
    assert.ok(!fourth.ok && fourth.reason === 'concurrency', 'at maxConcurrent: the full bucket is not touched');
    const s = await store.calls(['a']);
    assert.equal(s.a, 3);
  });

  it('slots expire at the TTL unless renewed, and a boot publish keeps limits already set', async () => {
    let now = 0;
    const store = new MemoryTenantLimitStore(() => now);
    const r = await store.admit({ tenants: ['a'], caps: {}, fallback: {}, ttlMs: 1000, owner: 'r' });
    assert.ok(r.ok);
    now = 900;
    await store.heartbeat([{ tenant: 'a', token: r.token }], 'r', 1000);
    now = 1500;
    assert.equal((await store.calls(['a'])).a, 1);
    now = 2000;
    assert.equal((await store.calls(['a'])).a, 0);
    await store.publish({ a: L({ cps: 1 }) }, 'replace');
    await store.publish({ a: L({ cps: 9 }) }, 'boot');
    assert.equal((await store.limits()).a!.cps, 1);
  });

  it('answers cps with 503 and Retry-After, concurrency and shares with 486', () => {
    assert.deepEqual([sipAnswer('cps', 't', 2).status, sipAnswer('cps', 't', 2).headers['Retry-After']], [503, '2']);
    assert.equal(sipAnswer('concurrency', 't', 0).status, 486);
    assert.equal(sipAnswer('share', 't', 0).status, 486);
  });
});

describe('tenants: configuration', () => {
  const load = (tenants: unknown) => loadConfig({ env: {}, overrides: { tenants: tenants as never } });
  it('no tenants is the embedded default', () => {
    assert.deepEqual(loadConfig({ env: {} }).tenants, []);
  });
  it('refuses a DID owned twice, a reserved share over the whole cap, and the name default', () => {
    assert.throws(() => load([{ name: 'a', dids: [{ did: '+1555*', agent: 'receptionist' }] }, { name: 'b', dids: [{ did: '1555*', agent: 'receptionist' }] }]),
      (e: unknown) => e instanceof ConfigInvalidError && /tenants\.1\.dids\.0\.did/.test(e.message) && /a's/.test(e.message));
    assert.throws(() => load([{ name: 'a', limits: { shares: { asr: { min: 0.6 } } } }, { name: 'b', limits: { shares: { asr: { min: 0.6 } } } }]),
      (e: unknown) => e instanceof ConfigInvalidError && /summing to at most 1/.test(e.message));
    assert.throws(() => load([{ name: 'default' }]), ConfigInvalidError);
  });
  it('fills a tenant\'s optional fields', () => {
    const [t] = load([{ name: 'a' }]).tenants;
    assert.deepEqual(t!.limits, { maxConcurrent: 0, cps: 0, burst: 0, shares: {} });
    assert.equal(t!.demo, false);
  });
});
