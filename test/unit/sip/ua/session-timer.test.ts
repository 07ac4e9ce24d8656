import assert from 'node:assert/strict';
import { DEFAULT_SESSION_TIMERS, negotiateSession, parseMessage, readSessionExpires, SipRequest } from '../../../../sip/index.js';

function invite(headers: Record<string, string>): SipRequest {
  const r = new SipRequest('INVITE', 'sip:a@127.0.0.1');
  for (const [k, v] of Object.entries(headers)) r.setHeader(k, v);
  return r;
}
const o = { ...DEFAULT_SESSION_TIMERS, minSE: 90 };

describe('sip/ua: RFC 4028 negotiation (UAS side)', () => {
  it('reads Session-Expires in long and compact form, with or without refresher', () => {
    assert.deepEqual(readSessionExpires(invite({ 'session-expires': '1800;refresher=uac' })), { interval: 1800, refresher: 'uac' });
    const compact = parseMessage(Buffer.from('INVITE sip:a@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nf: <sip:b@c>;tag=1\r\nt: <sip:a@c>\r\ni: st-1\r\nCSeq: 1 INVITE\r\nk: timer\r\nx: 600\r\nl: 0\r\n\r\n'));
    assert.deepEqual(readSessionExpires(compact), { interval: 600, refresher: undefined });
    assert.equal(negotiateSession(compact, o).kind, 'on');
    assert.equal(readSessionExpires(invite({ 'session-expires': 'soon' })), undefined);
  });

  it('no Session-Expires, or timers disabled: off', () => {
    assert.deepEqual(negotiateSession(invite({ supported: 'timer' }), o), { kind: 'off' });
    assert.deepEqual(negotiateSession(invite({ 'session-expires': '1800' }), { ...o, enabled: false }), { kind: 'off' });
  });

  it('§8.1: below our Min-SE is too small (422 carries our Min-SE)', () => {
    assert.deepEqual(negotiateSession(invite({ 'session-expires': '89', supported: 'timer' }), o), { kind: 'too-small', minSE: 90 });
    assert.equal(negotiateSession(invite({ 'session-expires': '90', supported: 'timer' }), o).kind, 'on');
  });

  it('§9: the request\'s refresher wins; left open, ours is used; a UAC without the extension cannot refresh, so we must', () => {
    assert.deepEqual(negotiateSession(invite({ 'session-expires': '1800;refresher=uas', supported: 'timer, 100rel' }), o), { kind: 'on', interval: 1800, refresher: 'uas', require: true });
    assert.deepEqual(negotiateSession(invite({ 'session-expires': '1800', supported: 'timer' }), { ...o, preferredRefresher: 'uac' }), { kind: 'on', interval: 1800, refresher: 'uac', require: true });
    // a proxy inserted Session-Expires for a UAC that lacks the extension
    assert.deepEqual(negotiateSession(invite({ 'session-expires': '1800;refresher=uac' }), o), { kind: 'on', interval: 1800, refresher: 'uas', require: false });
  });
});
