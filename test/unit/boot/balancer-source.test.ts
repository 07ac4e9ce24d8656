import assert from 'node:assert/strict';
import { EdgeFilter } from '../../../sip/edge/index.js';
import { behindBalancers, SOURCE_HEADER } from '../../../src/boot/balancer-source.js';

const req = (method: string, headers: Record<string, string> = {}) => ({
  method,
  header: (n: string) => Object.entries(headers).find(([k]) => k.toLowerCase() === n.toLowerCase())?.[1],
});
const silent = { warn: () => undefined };

describe('boot: the real source behind the balancer', () => {
  const BALANCER = { address: '10.9.0.2', port: 5060 };
  const edge = () => new EdgeFilter({ carriers: ['203.0.113.0/24'], rate: { perSecond: 1, burst: 2 }, logger: silent });

  it('a carrier behind the balancer is let in; a stranger behind it is refused 403', () => {
    const f = behindBalancers(edge().filter, ['10.9.0.2']);
    assert.equal(f(req('INVITE', { [SOURCE_HEADER]: '203.0.113.5' }), BALANCER), undefined);
    assert.equal(f(req('INVITE', { [SOURCE_HEADER]: '198.51.100.9' }), BALANCER)?.status, 403);
  });

  it('the header is believed from the balancer only: anyone else claiming a carrier address is judged by its own', () => {
    const f = behindBalancers(edge().filter, ['10.9.0.0/24']);
    assert.equal(f(req('INVITE', { [SOURCE_HEADER]: '203.0.113.5' }), { address: '198.51.100.9', port: 5060 })?.status, 403);
  });

  it('the balancer itself (no header, or a header that is not an address) is not a carrier', () => {
    const f = behindBalancers(edge().filter, ['10.9.0.2']);
    assert.equal(f(req('INVITE'), BALANCER)?.status, 403);
    assert.equal(f(req('INVITE', { [SOURCE_HEADER]: 'sip:203.0.113.5' }), BALANCER)?.status, 403);
    assert.equal(f(req('INVITE', { [SOURCE_HEADER]: '203.0.113.5' }), { address: '::ffff:10.9.0.2', port: 5060 }), undefined);
  });

  it('the rate limit counts each real source on its own, not the balancer as one', () => {
    const f = behindBalancers(edge().filter, ['10.9.0.2']);
    // burst 2 per source: a flooding source is limited while another source's requests still pass.
    for (let i = 0; i < 2; i++) assert.equal(f(req('OPTIONS', { [SOURCE_HEADER]: '198.51.100.66' }), BALANCER), undefined);
    assert.equal(f(req('OPTIONS', { [SOURCE_HEADER]: '198.51.100.66' }), BALANCER)?.status, 503);
    assert.equal(f(req('INVITE', { [SOURCE_HEADER]: '203.0.113.5' }), BALANCER), undefined);
  });

  it('with no balancer configured the filter is the edge filter itself', () => {
    const e = edge();
    assert.equal(behindBalancers(e.filter, []), e.filter);
  });
});
