import assert from 'node:assert/strict';
import { EarlyDrop, EdgeFilter, SipEdgeConfigError, methodOf } from '../../../../sip/edge/index.js';

const logger = { warn: () => undefined };
const dgram = (text: string) => Buffer.from(text, 'latin1');
const INVITE = dgram('INVITE sip:agent@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bK1\r\n\r\n');
const OPTIONS = dgram('OPTIONS sip:agent@127.0.0.1 SIP/2.0\r\n\r\n');
const RESPONSE = dgram('SIP/2.0 200 OK\r\n\r\n');

describe('sip/edge: early drop before parsing', () => {
  let now = 0;
  const clock = () => now;
  const edge = new EdgeFilter({ carriers: ['127.0.0.2', '10.1.0.0/16'], logger });
  const make = (o: Partial<ConstructorParameters<typeof EarlyDrop>[0]> = {}) => new EarlyDrop({ isCarrier: (a) => edge.isCarrier(a), trusted: ['127.0.0.1'], rate: { perSecond: 5, burst: 5 }, now: clock, ...o });
  beforeEach(() => { now = 1_000_000; });

  it('reads the method from the request line without parsing', () => {
    assert.equal(methodOf(INVITE), 'INVITE');
    assert.equal(methodOf(dgram('invite sip:x SIP/2.0')), 'INVITE');
    assert.equal(methodOf(dgram('garbage-with-no-space-at-all-in-it')), '');
    assert.equal(methodOf(dgram('')), '');
  });

  it('a non-carrier INVITE is answered (403 after parsing) once a second per source; the rest are dropped unparsed', () => {
    const e = make();
    const admitted = Array.from({ length: 8 }, () => e.admit({ address: '127.0.0.10' }, INVITE)).filter(Boolean).length;
    assert.equal(admitted, 1);
    assert.equal(e.admit({ address: '127.0.0.11' }, INVITE), true, 'another source has its own answer');
    now += 1000;
    assert.equal(e.admit({ address: '127.0.0.10' }, INVITE), true, 'one answer again a second later');
    assert.deepEqual(e.stats(), { droppedRate: 0, droppedRefused: 7 });
  });

  it('never drops a carrier, a balancer, or a response, whatever the rate', () => {
    const e = make();
    for (let i = 0; i < 100; i++) {
      assert.equal(e.admit({ address: '127.0.0.2' }, INVITE), true);
      assert.equal(e.admit({ address: '10.1.2.3' }, INVITE), true);
      assert.equal(e.admit({ address: '::ffff:127.0.0.1' }, INVITE), true, 'the balancer (its requests are judged by their header after parsing)');
      assert.equal(e.admit({ address: '127.0.0.66' }, RESPONSE), true);
    }
    assert.deepEqual(e.stats(), { droppedRate: 0, droppedRefused: 0 });
  });

  it('other methods pass up to twice the edge rate (the edge filter answers 503 past 1×), then drop', () => {
    const e = make();
    const admitted = Array.from({ length: 30 }, () => e.admit({ address: '127.0.0.10' }, OPTIONS)).filter(Boolean).length;
    assert.equal(admitted, 10, 'burst 5 × 2');
    assert.equal(e.stats().droppedRate, 20);
    now += 1000;
    assert.equal(Array.from({ length: 30 }, () => e.admit({ address: '127.0.0.10' }, OPTIONS)).filter(Boolean).length, 10, '5/s × 2 refilled');
  });

  it('with digest users allowed (refusedMethods []) a non-carrier INVITE is left to the edge filter', () => {
    const e = make({ refusedMethods: [], rate: undefined });
    assert.ok(Array.from({ length: 50 }, () => e.admit({ address: '127.0.0.10' }, INVITE)).every(Boolean));
  });

  it('rejects a bad trusted list with a typed error', () => {
    assert.throws(() => make({ trusted: ['lb.example.com'] }), (err: unknown) => err instanceof SipEdgeConfigError && err.code === 'SIP_ERR_EDGE_CONFIG');
  });
});
