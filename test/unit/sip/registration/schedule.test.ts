import assert from 'node:assert/strict';
import { until } from '../../../support/wait.js';
import { RegistrationPool, Schedule, SipRegistrationError } from '../../../../sip/registration/index.js';

describe('sip/registration schedule and config', () => {
  it('fires in due order with one timer; a rescheduled or cancelled key fires only per its latest entry', async () => {
    const fired: string[] = [];
    const s = new Schedule((k) => fired.push(k));
    const t = Date.now();
    s.at('c', t + 60); s.at('a', t + 10); s.at('b', t + 30); s.at('x', t + 20);
    s.at('a', t + 50); // moved after b
    s.cancel('x');
    // 'x' was due at +20, before 'b': had the cancel failed it would be in the list by the time 'c' fires.
    await until(() => fired.length >= 3, 'three keys fired');
    assert.deepEqual(fired, ['b', 'a', 'c']);
    s.at('late', Date.now() + 10_000);
    s.close(); // no timer left behind (mocha would hang otherwise)
  });

  it('rejects bad accounts and options with typed errors', () => {
    const ua = { contact: 'sip:127.0.0.1:5060', sendRequest: () => Promise.reject(new Error('unused')) };
    assert.throws(() => new RegistrationPool({ ua, refreshFraction: 1.5 }), (e: unknown) => e instanceof SipRegistrationError && e.code === 'SIP_ERR_REG_CONFIG');
    const p = new RegistrationPool({ ua });
    assert.throws(() => p.add({ id: 'a', user: '', domain: 'd', registrar: { host: '127.0.0.1' } }), (e: unknown) => e instanceof SipRegistrationError && e.code === 'SIP_ERR_REG_CONFIG');
    assert.throws(() => p.add({ id: 'a', user: 'u', domain: 'd', registrar: { host: '127.0.0.1' }, expires: -1 }), SipRegistrationError);
    assert.equal(p.ready, false, 'an empty pool is not ready');
    void p.close();
  });
});
