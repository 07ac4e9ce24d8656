import assert from 'node:assert/strict';
import { findRoute, normaliseNumber, uriUser } from '../../../src/calls/index.js';

const agent = (greeting: string) => ({ greeting, systemPrompt: 'p', voiceId: '', language: '', tools: [] as never[] });
const agents = { sales: agent('sales'), support: agent('support'), front: agent('front') };

describe('calls: DID routing', () => {
  it('takes the user part of sip, sips and tel URIs, with or without brackets and parameters', () => {
    assert.equal(uriUser('sip:+15551230000@carrier.example;user=phone'), '+15551230000');
    assert.equal(uriUser('<sips:15551230000@10.0.0.1:5061>'), '15551230000');
    assert.equal(uriUser('tel:+1-555-123-0000;npdi'), '+1-555-123-0000');
    assert.equal(uriUser('sip:carrier.example'), 'carrier.example');
  });

  it('keeps only digits and a leading +, dropping separators and RFC 4694 parameters', () => {
    assert.equal(normaliseNumber('+1-555-123-0000'), '+15551230000');
    assert.equal(normaliseNumber('(555) 123.0000;rn=+15550000000'), '5551230000');
    assert.equal(normaliseNumber('%2B15551230000'), '+15551230000');
  });

  it('first match wins: exact number, prefix*, then *; + and no + match each other', () => {
    const routes = [{ did: '+15551230000', agent: 'sales' }, { did: '1555*', agent: 'support' }, { did: '*', agent: 'front' }];
    assert.equal(findRoute(routes, agents, '+15551230000')?.agent, 'sales');
    assert.equal(findRoute(routes, agents, '15551230000')?.agent, 'sales');
    assert.equal(findRoute(routes, agents, '+15559999999')?.agent, 'support');
    assert.equal(findRoute(routes, agents, '442071234567')?.agent, 'front');
    assert.equal(findRoute(routes, agents, '+15551230000')?.profile.greeting, 'sales');
  });

  it('no matching route is undefined (the call gets 404)', () => {
    assert.equal(findRoute([{ did: '+1555*', agent: 'sales' }], agents, '+4420'), undefined);
    assert.equal(findRoute([{ did: '+1555*', agent: 'sales' }], agents, ''), undefined);
  });
});
