import assert from 'node:assert/strict';
import { SipRequest } from '../../../../sip/message/index.js';
import { DigestClient, DigestServer } from '../../../../sip/digest/index.js';
import { EdgeFilter, SipEdgeConfigError, TokenBuckets } from '../../../../sip/edge/index.js';

const logs: Array<{ obj: Record<string, unknown>; msg: string }> = [];
const logger = { warn: (obj: Record<string, unknown>, msg: string) => void logs.push({ obj, msg }) };
const invite = (auth?: string) => { const r = new SipRequest('INVITE', 'sip:agent@127.0.0.1'); if (auth) r.setHeader('Proxy-Authorization', auth); return r; };
const src = (address: string) => ({ address, port: 5060 });

describe('sip/edge', () => {
  beforeEach(() => { logs.length = 0; });

  it('admits INVITEs only from configured carrier addresses and CIDRs (IPv4, IPv6, v4-mapped)', () => {
    const e = new EdgeFilter({ carriers: ['127.0.0.10', '127.1.0.0/16', '::1/128', 'fd00:1::/32'], logger });
    for (const a of ['127.0.0.10', '127.1.200.3', '::1', 'fd00:1:ffff::9', '::ffff:127.1.0.1']) assert.equal(e.filter(invite(), src(a)), undefined, a);
    for (const a of ['127.0.0.11', '127.2.0.1', '::2', 'fd00:2::1']) assert.deepEqual(e.filter(invite(), src(a)), { status: 403, reason: 'Forbidden' }, a);
    assert.equal(logs.length, 4);
    assert.equal(logs[0]!.obj.source, '127.0.0.11:5060');
    assert.equal(e.filter(new SipRequest('OPTIONS', 'sip:x'), src('127.9.9.9')), undefined, 'OPTIONS is not guarded by default');
    assert.equal(e.stats().refusedForbidden, 4);
  });

  it('rejects a bad carrier list with a typed error', () => {
    for (const c of ['carrier.example.com', '10.0.0.0/33', '::/129', '1.2.3.4/x']) assert.throws(() => new EdgeFilter({ carriers: [c], logger }), (err: unknown) => err instanceof SipEdgeConfigError && err.code === 'SIP_ERR_EDGE_CONFIG', c);
  });

  it('digest users: challenge 407, then admit good credentials, 403 + log for bad ones', () => {
    const digest = new DigestServer({ realm: 'warmline', lookup: (u) => (u === 'web' ? 'pw' : undefined) });
    const e = new EdgeFilter({ carriers: [], digest, logger });
    const ch = e.filter(invite(), src('127.0.0.50'));
    assert.equal(ch?.status, 407);
    const challenge = ch?.headers?.['Proxy-Authenticate'];
    assert.ok(challenge);
    const good = new DigestClient({ username: 'web', password: 'pw' }).answer(407, challenge, 'INVITE', 'sip:agent@127.0.0.1');
    assert.ok(good.kind === 'retry');
    if (good.kind === 'retry') assert.equal(e.filter(invite(good.value), src('127.0.0.50')), undefined);
    const bad = new DigestClient({ username: 'web', password: 'nope' }).answer(407, challenge, 'INVITE', 'sip:agent@127.0.0.1');
    if (bad.kind === 'retry') assert.deepEqual(e.filter(invite(bad.value), src('127.0.0.50')), { status: 403, reason: 'Forbidden' });
    assert.equal(logs.length, 1);
    assert.equal(logs[0]!.obj.reason, 'bad-response');
  });

  it('rate-limits new transactions per source with 503 Retry-After, refills over time, bounds memory', () => {
    let t = 0;
    const e = new EdgeFilter({ carriers: ['127.0.0.0/8'], rate: { perSecond: 2, burst: 3, maxSources: 100 }, logger, now: () => t });
    for (let i = 0; i < 3; i++) assert.equal(e.filter(invite(), src('127.0.0.1')), undefined);
    const r = e.filter(invite(), src('127.0.0.1'));
    assert.equal(r?.status, 503);
    assert.equal(r?.headers?.['Retry-After'], '1');
    assert.equal(e.filter(invite(), src('127.0.0.2')), undefined, 'other sources unaffected');
    t += 1000;
    assert.equal(e.filter(invite(), src('127.0.0.1')), undefined);
    assert.equal(e.filter(invite(), src('127.0.0.1')), undefined);
    assert.equal(e.filter(invite(), src('127.0.0.1'))?.status, 503);
    for (let i = 0; i < 1000; i++) e.filter(invite(), src(`127.0.${i >> 8}.${i & 255}`));
    assert.equal(e.stats().sourcesTracked, 100);
    assert.throws(() => new EdgeFilter({ carriers: [], rate: { perSecond: 0, burst: 1 }, logger }), SipEdgeConfigError);
  });

  it('token buckets evict the least recently used source first', () => {
    const b = new TokenBuckets(1, 1, 2, () => 0);
    assert.equal(b.take('a'), 0);
    assert.equal(b.take('b'), 0);
    assert.ok(b.take('a') > 0); // touches a
    assert.equal(b.take('c'), 0); // evicts b
    assert.equal(b.take('b'), 0, 'b was evicted, so it starts with a full bucket');
    assert.ok(b.take('c') > 0, 'c kept');
  });
});
