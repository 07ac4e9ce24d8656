import assert from 'node:assert/strict';
import { extraHeaders, partyUri } from '../../../src/calls/trunks.js';
import { reasonBeforeAnswer, reasonForStatus } from '../../../src/calls/outbound-outcome.js';

describe('calls: an outbound request\'s parties, headers and failure reasons', () => {
  it('E.164 numbers (separators allowed) become sip:+NUMBER@<trunk domain>; sip: URIs stay as given', () => {
    assert.equal(partyUri('to', '+1 (555) 123-4567', 'sip.example.com'), 'sip:+15551234567@sip.example.com');
    assert.equal(partyUri('to', '15551234567', 'sip.example.com'), 'sip:+15551234567@sip.example.com');
    assert.equal(partyUri('from', 'sip:alice@example.com:5080;transport=tcp', 'x'), 'sip:alice@example.com:5080;transport=tcp');
  });

  it('refuses what could smuggle text into the INVITE, or is no address at all', () => {
    for (const bad of ['', 'alice', '+0123', 'sip:a@b>;x=1', 'sip:a@b?Route=x', 'sip:a@b\r\nVia: x', 'http://example.com', 42, undefined, 'sip:' + 'a'.repeat(300) + '@b']) {
      assert.throws(() => partyUri('to', bad, 'd'), (e: Error & { code?: string }) => e.code === 'WL_ERR_DIAL_INVALID', String(bad));
    }
  });

  it('headers: X-… and the identity allowlist only, one printable line each, at most 16', () => {
    assert.deepEqual(extraHeaders({ 'X-Campaign': 'spring', 'P-Asserted-Identity': '<sip:+15550000000@x>' }), { 'x-campaign': 'spring', 'p-asserted-identity': '<sip:+15550000000@x>' });
    assert.deepEqual(extraHeaders(undefined), {});
    for (const bad of [{ Via: 'x' }, { 'Call-ID': 'x' }, { 'X-A': 'a\r\nVia: x' }, { 'X-A': 1 }, { 'X A': 'x' }, [], 'x', Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`X-${i}`, 'v']))]) {
      assert.throws(() => extraHeaders(bad), (e: Error & { code?: string }) => e.code === 'WL_ERR_DIAL_INVALID', JSON.stringify(bad));
    }
  });

  it('final statuses map to the reasons the API documents', () => {
    const cases: Array<[number, string]> = [[486, 'busy'], [600, 'busy'], [408, 'no-answer'], [480, 'no-answer'], [403, 'rejected'], [603, 'rejected'], [404, 'not-found'], [484, 'not-found'], [503, 'unavailable'], [500, 'unavailable'], [488, 'failed'], [407, 'auth-failed']];
    for (const [status, reason] of cases) assert.equal(reasonForStatus(status), reason, String(status));
    assert.equal(reasonBeforeAnswer({ reason: 'transport' }), 'transport-error');
    assert.equal(reasonBeforeAnswer({ reason: 'no-answer', status: 487 }), 'no-answer');
    assert.equal(reasonBeforeAnswer({ reason: 'cancelled', status: 487 }), 'cancelled');
  });
});
