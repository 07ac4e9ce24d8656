import assert from 'node:assert/strict';
import type { Destination } from '../../../sip/index.js';
import { createLogger, type Logger } from '../../../src/log.js';
import { eachTargetInTurn, silentTargetLimit, triesNextTarget } from '../../../src/calls/target-failover.js';

// The SIP side of this rule runs against real peers in test/integration/outbound/failover.test.ts
// and test/integration/transfer/trunk-fallback.test.ts; here, the rule and the walk alone.
describe('calls: RFC 3263 failover of our INVITEs (§4.3)', () => {
  it('moves on after no response, a transport error or a 503, and only while nothing else was heard', () => {
    assert.equal(triesNextTarget({ reason: 'transport', detail: 'Timer B' }, false), true);
    assert.equal(triesNextTarget({ reason: 'failed', status: 503 }, false), true);
    assert.equal(triesNextTarget({ reason: 'failed', status: 503 }, true), false, 'a target that rang owns the outcome');
    assert.equal(triesNextTarget({ reason: 'transport' }, true), false);
    for (const end of [{ reason: 'failed', status: 486 }, { reason: 'failed', status: 500 }, { reason: 'no-answer' }, { reason: 'cancelled' }, { reason: 'auth-failed', status: 407 }] as const) {
      assert.equal(triesNextTarget(end, false), false, JSON.stringify(end));
    }
  });

  it('gives a silent target up after outbound.targetTimeoutMs only while a next target follows', () => {
    assert.deepEqual(silentTargetLimit(true, 5000), { noResponseTimeoutMs: 5000 });
    assert.deepEqual(silentTargetLimit(false, 5000), {}, 'the last target waits for the ring timeout and Timer B, as before');
  });

  it('tries the targets in order, says when the last may not fail over, and stops at the first kept outcome', async () => {
    const targets: Destination[] = [1, 2, 3].map((i) => ({ address: `192.0.2.${i}`, port: 5060, transport: 'udp' }));
    const tried: string[] = [];
    const warned: unknown[] = [];
    const log = { warn: (o: unknown, msg: string) => warned.push([o, msg]) } as unknown as Logger;
    await eachTargetInTurn(targets, async (d, mayFailOver) => { tried.push(`${d.address} ${mayFailOver}`); return mayFailOver; }, log);
    assert.deepEqual(tried, ['192.0.2.1 true', '192.0.2.2 true', '192.0.2.3 false']);
    assert.deepEqual(warned, [
      [{ failed: '192.0.2.1:5060', next: '192.0.2.2:5060' }, 'INVITE failed over to the next RFC 3263 target'],
      [{ failed: '192.0.2.2:5060', next: '192.0.2.3:5060' }, 'INVITE failed over to the next RFC 3263 target'],
    ]);
    tried.length = 0;
    await eachTargetInTurn(targets, async (d) => { tried.push(d.address); return d.address === '192.0.2.1'; }, createLogger('silent'));
    assert.deepEqual(tried, ['192.0.2.1', '192.0.2.2'], 'the second kept the call: the third is never tried');
  });
});
