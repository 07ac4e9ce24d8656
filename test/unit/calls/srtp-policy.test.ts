import assert from 'node:assert/strict';
import { SrtpPolicies } from '../../../src/calls/srtp-policy.js';
import { loadConfig, ConfigInvalidError } from '../../../src/config/index.js';

describe('calls: SRTP policy per trunk (media.srtp)', () => {
  it('the first trunk whose source holds the INVITE\'s address wins; else the default', () => {
    const p = new SrtpPolicies({
      policy: 'offered',
      suites: ['AES_CM_128_HMAC_SHA1_80'],
      trunks: [
        { source: '192.76.120.10', policy: 'required' },
        { source: '198.51.100.0/24', policy: 'off' },
        { source: '2001:db8::/32', policy: 'required' },
      ],
    });
    assert.equal(p.for('192.76.120.10').policy, 'required');
    assert.equal(p.for('::ffff:192.76.120.10').policy, 'required', 'IPv4-mapped on a dual-stack socket');
    assert.equal(p.for('198.51.100.77').policy, 'off');
    assert.equal(p.for('2001:db8::5').policy, 'required');
    assert.equal(p.for('203.0.113.9').policy, 'offered');
    assert.deepEqual(p.for('203.0.113.9').suites, ['AES_CM_128_HMAC_SHA1_80']);
  });

  it('config: defaults to offered with both suites; bad values stop the start', () => {
    const c = loadConfig({ env: {} });
    assert.deepEqual(c.media.srtp, { policy: 'offered', suites: ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'], trunks: [] });
    for (const srtp of [{ policy: 'maybe' }, { suites: [] }, { suites: ['AES_256_CM_HMAC_SHA1_80'] }, { trunks: [{ source: 'carrier.example', policy: 'required' }] }, { trunks: [{ source: '10.0.0.0/33', policy: 'off' }] }]) {
      assert.throws(() => loadConfig({ env: {}, overrides: { media: { srtp } } as never }), (e) => e instanceof ConfigInvalidError, JSON.stringify(srtp));
    }
  });
});
