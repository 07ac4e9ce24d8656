import assert from 'node:assert/strict';
import { parseSipfrag, parseSubscriptionState } from '../../../../sip/ua/sipfrag.js';

describe('sip: sipfrag and Subscription-State (RFC 3420, RFC 3515 NOTIFY bodies)', () => {
  it('reads the status line of a refer NOTIFY body', () => {
    assert.deepEqual(parseSipfrag('SIP/2.0 100 Trying\r\n'), { status: 100, reason: 'Trying' });
    assert.deepEqual(parseSipfrag(Buffer.from('SIP/2.0 200 OK')), { status: 200, reason: 'OK' });
    assert.deepEqual(parseSipfrag('SIP/2.0 486 Busy Here\r\nContent-Length: 0\r\n\r\n'), { status: 486, reason: 'Busy Here' });
    assert.deepEqual(parseSipfrag('\r\nsip/2.0 180'), { status: 180, reason: '' }, 'a leading blank line and no reason phrase');
  });

  it('gives undefined for a body with no status line', () => {
    assert.equal(parseSipfrag(''), undefined);
    assert.equal(parseSipfrag('INVITE sip:bob@example.com SIP/2.0\r\n'), undefined);
    assert.equal(parseSipfrag('SIP/2.0 99 Low'), undefined);
    assert.equal(parseSipfrag('SIP/2.0 700 Out of range'), undefined);
    assert.equal(parseSipfrag('SIP/3.0 200 OK'), undefined);
    assert.equal(parseSipfrag('HTTP/1.1 200 OK'), undefined);
  });

  it('reads Subscription-State with its reason and expiry', () => {
    assert.deepEqual(parseSubscriptionState('active;expires=60'), { state: 'active', reason: undefined, expires: 60 });
    assert.deepEqual(parseSubscriptionState('terminated; reason=noresource'), { state: 'terminated', reason: 'noresource', expires: undefined });
    assert.deepEqual(parseSubscriptionState('Pending'), { state: 'pending', reason: undefined, expires: undefined });
    assert.equal(parseSubscriptionState(undefined), undefined);
    assert.equal(parseSubscriptionState(''), undefined);
  });
});
