import assert from 'node:assert/strict';
import { DemoCredentials } from '../../../src/demo/index.js';

describe('demo: short-lived credentials for browsers', () => {
  let now = 1_000_000;
  let active = 0;
  const make = (o: Partial<{ perMinute: number; max: number }> = {}) =>
    new DemoCredentials({ ttlMs: 60_000, perMinute: o.perMinute ?? 3, maxConcurrentCalls: o.max ?? 2, activeCalls: () => active, now: () => now });

  beforeEach(() => {
    now = 1_000_000;
    active = 0;
  });

  it('issues a credential that works until it expires, then is unknown', () => {
    const c = make();
    const cred = c.issue('127.0.0.1');
    assert.ok(!('error' in cred));
    assert.equal(c.password(cred.username), cred.password);
    now += 59_999;
    assert.equal(c.password(cred.username), cred.password);
    now += 1;
    assert.equal(c.password(cred.username), undefined, 'expired');
    assert.equal(c.live, 0);
  });

  it('rate-limits per client address over a sliding minute (429 with a retry time)', () => {
    const c = make({ perMinute: 2 });
    assert.ok(!('error' in c.issue('10.0.0.1')));
    now += 10_000;
    assert.ok(!('error' in c.issue('10.0.0.1')));
    const refused = c.issue('10.0.0.1');
    assert.deepEqual(refused, { status: 429, error: 'rate-limited', retryAfterS: 50 });
    assert.ok(!('error' in c.issue('10.0.0.2')), 'another client is not affected');
    now += 50_000;
    assert.ok(!('error' in c.issue('10.0.0.1')), 'the oldest request left the window');
  });

  it('issues nothing while the demo is at its cap (503)', () => {
    const c = make({ max: 1 });
    active = 1;
    assert.deepEqual(c.issue('127.0.0.1'), { status: 503, error: 'at-capacity' });
    active = 0;
    assert.ok(!('error' in c.issue('127.0.0.1')));
  });
});
