import assert from 'node:assert/strict';
import { parseSdp, SdpNegotiator, isMediaError, parseCryptoAttribute, isCryptoAttribute, formatCryptoAttribute } from '../../../media/index.js';

const KEY = 'WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz';
const offer = (proto: string, extra: string[] = []): string =>
  ['v=0', 'o=carrier 7 7 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', `m=audio 30000 ${proto} 0 101`,
    'a=rtpmap:101 telephone-event/8000', ...extra, ''].join('\r\n');
const cryptoLines = (sdp: string): string[] => sdp.split('\r\n').filter((l) => l.startsWith('a=crypto:'));

describe('SDES a=crypto (RFC 4568) in offer/answer', () => {
  it('parses inline key||salt, a lifetime we can honour, KDR=0 and WSH; formats it back', () => {
    const c = parseCryptoAttribute(`crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^31 KDR=0 WSH=128`);
    assert.ok(isCryptoAttribute(c));
    assert.equal(c.tag, 1);
    assert.equal(c.keying.masterKey.length, 16);
    assert.equal(c.keying.masterSalt.length, 14);
    assert.equal(formatCryptoAttribute(1, c.keying), `crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`);
  });

  it('skips lines it cannot honour: MKI, short lifetime, unknown suite or session parameter, bad key length', () => {
    for (const [line, why] of [
      [`crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4`, /MKI/],
      [`crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20`, /lifetime/],
      [`crypto:1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}`, /not supported/],
      [`crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY} UNENCRYPTED_SRTP`, /session parameter/],
      ['crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA', /octets/],
      [`crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY};inline:${KEY}`, /MKI/],
      ['crypto:x', /tag/],
    ] as const) {
      const c = parseCryptoAttribute(line);
      assert.ok(!isCryptoAttribute(c), line);
      assert.match(c.why, why, line);
    }
  });

  it('answers RTP/SAVP with RTP/SAVP and exactly one a=crypto: the first suite we support, tag echoed, a fresh key', () => {
    const o = parseSdp(offer('RTP/SAVP', [
      `a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}${KEY}`,
      `a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:${KEY}`,
      `a=crypto:3 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`,
    ]));
    const { sdp, negotiated } = new SdpNegotiator({ address: '127.0.0.1', port: 20000 }).answer(o);
    assert.match(sdp, /m=audio 20000 RTP\/SAVP 0 101\r\n/);
    const lines = cryptoLines(sdp);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:[A-Za-z0-9+/]{40}$/);
    assert.ok(!lines[0]!.includes(KEY), 'our key is our own, not the offer\'s');
    assert.equal(negotiated.srtp?.suite, 'AES_CM_128_HMAC_SHA1_32');
    assert.equal(negotiated.srtp?.remote.masterKey.toString('base64'), Buffer.from(KEY, 'base64').subarray(0, 16).toString('base64'));
    const again = new SdpNegotiator({ address: '127.0.0.1', port: 20000 }).answer(o);
    assert.notEqual(cryptoLines(again.sdp)[0], lines[0], 'a fresh key per call');
  });

  it('a re-INVITE with the same suite keeps our key (no keystream restart)', () => {
    const n = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    const o = parseSdp(offer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]));
    const first = n.answer(o);
    const hold = n.answer(parseSdp(offer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`, 'a=sendonly'])));
    assert.equal(cryptoLines(hold.sdp)[0], cryptoLines(first.sdp)[0]);
    assert.equal(hold.negotiated.direction, 'recvonly');
    // An offerless re-INVITE gets our current key in an SAVP offer.
    assert.deepEqual(cryptoLines(n.offer()), cryptoLines(first.sdp));
  });

  it('refuses with typed errors: no usable suite, SAVP with policy off, AVP with policy required', () => {
    const onlyUnsupported = parseSdp(offer('RTP/SAVP', [`a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}${KEY}`]));
    assert.throws(() => new SdpNegotiator({ address: '127.0.0.1', port: 20000 }).answer(onlyUnsupported),
      (e) => isMediaError(e, 'MEDIA_ERR_SDP_NO_COMMON_CRYPTO') && /AES_256/.test(JSON.stringify(e.context)));
    assert.throws(() => new SdpNegotiator({ address: '127.0.0.1', port: 20000 }).answer(parseSdp(offer('RTP/SAVP'))),
      (e) => isMediaError(e, 'MEDIA_ERR_SDP_NO_COMMON_CRYPTO'), 'SAVP without any a=crypto');
    const only32 = new SdpNegotiator({ address: '127.0.0.1', port: 20000, srtp: { policy: 'offered', suites: ['AES_CM_128_HMAC_SHA1_32'] } });
    assert.throws(() => only32.answer(parseSdp(offer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]))), (e) => isMediaError(e, 'MEDIA_ERR_SDP_NO_COMMON_CRYPTO'));
    const off = new SdpNegotiator({ address: '127.0.0.1', port: 20000, srtp: { policy: 'off' } });
    assert.throws(() => off.answer(parseSdp(offer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]))), (e) => isMediaError(e, 'MEDIA_ERR_SDP_SRTP_POLICY'));
    assert.doesNotMatch(off.answer(parseSdp(offer('RTP/AVP'))).sdp, /crypto|SAVP/);
    const req = new SdpNegotiator({ address: '127.0.0.1', port: 20000, srtp: { policy: 'required' } });
    assert.throws(() => req.answer(parseSdp(offer('RTP/AVP'))), (e) => isMediaError(e, 'MEDIA_ERR_SDP_SRTP_POLICY'));
  });

  it('RTP/AVP offers are answered as before under `offered`: no crypto', () => {
    const { sdp, negotiated } = new SdpNegotiator({ address: '127.0.0.1', port: 20000 }).answer(parseSdp(offer('RTP/AVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`])));
    assert.match(sdp, /RTP\/AVP 0 101/);
    assert.equal(cryptoLines(sdp).length, 0);
    assert.equal(negotiated.srtp, null);
  });

  it('our offer under `required` is RTP/SAVP with one key per suite; a peer negotiator\'s answer is accepted and keys pair up', () => {
    const us = new SdpNegotiator({ address: '127.0.0.1', port: 20000, srtp: { policy: 'required' } });
    const o = us.offer();
    assert.match(o, /m=audio 20000 RTP\/SAVP /);
    assert.equal(cryptoLines(o).length, 2);
    const peer = new SdpNegotiator({ address: '127.0.0.2', port: 22000 });
    const { sdp, negotiated: theirs } = peer.answer(parseSdp(o));
    const ours = us.acceptAnswer(parseSdp(sdp));
    assert.equal(ours.srtp?.suite, 'AES_CM_128_HMAC_SHA1_80');
    assert.deepEqual(ours.srtp?.remote, theirs.srtp?.local);
    assert.deepEqual(ours.srtp?.local, theirs.srtp?.remote);
    assert.equal(ours.remotePort, 22000);
    // `offered` offers plain RTP, and an SAVP answer to it is refused.
    const plain = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    assert.match(plain.offer(), /RTP\/AVP/);
    assert.throws(() => plain.acceptAnswer(parseSdp(sdp)), (e) => isMediaError(e, 'MEDIA_ERR_SDP_SRTP_POLICY'));
  });
});

describe('SDES across re-INVITEs', () => {
  it('a re-offer may not switch a call between RTP/AVP and RTP/SAVP', () => {
    const plain = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    plain.answer(parseSdp(offer('RTP/AVP')));
    assert.throws(() => plain.answer(parseSdp(offer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`]))), (e) => isMediaError(e, 'MEDIA_ERR_SDP_SRTP_POLICY'));
    const secure = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    secure.answer(parseSdp(offer('RTP/SAVP', [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`])));
    assert.throws(() => secure.answer(parseSdp(offer('RTP/AVP'))), (e) => isMediaError(e, 'MEDIA_ERR_SDP_SRTP_POLICY'));
  });
});
