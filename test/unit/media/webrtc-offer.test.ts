import assert from 'node:assert/strict';
import { addHostCandidate, addSsrc, isMediaError, isWebRtcOffer, parseSdp, planWebRtcAnswer } from '../../../media/index.js';
import { checkableCandidate } from '../../../media/sdp/webrtc-offer.js';

// Chromium's audio offer, trimmed: Opus first, G.711 later, two telephone-event clocks, rtcp-fb.
const CHROME = [
  'v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0', 'a=extmap-allow-mixed',
  'a=msid-semantic: WMS stream', 'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126', 'c=IN IP4 0.0.0.0',
  'a=rtcp:9 IN IP4 0.0.0.0', 'a=candidate:1 1 udp 2122260223 127.0.0.1 50001 typ host generation 0',
  'a=candidate:2 1 udp 2122260223 7d7a6f.local 50002 typ host', 'a=end-of-candidates',
  'a=ice-ufrag:abcd', 'a=ice-pwd:0123456789abcdefghijklmn', 'a=ice-options:trickle',
  'a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99',
  'a=setup:actpass', 'a=mid:0', 'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'a=sendrecv', 'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2', 'a=rtcp-fb:111 transport-cc', 'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2', 'a=fmtp:63 111/111', 'a=rtpmap:9 G722/8000', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:13 CN/8000', 'a=rtpmap:110 telephone-event/48000', 'a=rtpmap:126 telephone-event/8000', 'a=ssrc:1 cname:x', '',
].join('\r\n');

describe('media/sdp: a browser offer for the WebRTC endpoint', () => {
  it('recognizes DTLS-SRTP offers and leaves carrier offers to RTP', () => {
    assert.equal(isWebRtcOffer(parseSdp(CHROME)), true);
    assert.equal(isWebRtcOffer(parseSdp('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n')), false);
  });

  it('keeps only PCMU and telephone-event/8000, and drops the candidates (ICE-lite in effect)', () => {
    const plan = planWebRtcAnswer(CHROME, parseSdp(CHROME), ['PCMU', 'PCMA']);
    assert.equal(plan.codec.encoding, 'PCMU');
    assert.equal(plan.telephoneEvent?.payloadType, 126);
    assert.equal(plan.mid, '0');
    assert.match(plan.fingerprint, /^sha-256 AA:BB/);
    assert.match(plan.offer, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 0 126$/m);
    assert.doesNotMatch(plan.offer, /opus|G722|red\/|rtcp-fb:111|fmtp:111|telephone-event\/48000/);
    assert.match(plan.offer, /^a=setup:actpass$/m, 'the DTLS role is left to the stack (active, RFC 5763 §5)');
    assert.doesNotMatch(plan.offer, /^a=candidate:|^a=end-of-candidates/m);
    assert.match(plan.offer, /^a=ice-ufrag:abcd$/m);
    assert.match(plan.offer, /^a=rtcp-mux$/m);
    assert.equal(planWebRtcAnswer(CHROME, parseSdp(CHROME), ['PCMA']).codec.payloadType, 8);
  });

  it('with full ICE: keeps at most four UDP candidates with address literals and makes the browser the DTLS client', () => {
    const many = CHROME.replace('a=end-of-candidates', [
      'a=candidate:3 1 udp 1 10.0.0.3 50003 typ host', 'a=candidate:4 1 udp 1 2001:db8::4 50004 typ host', 'a=candidate:5 1 tcp 1 10.0.0.5 9 typ host tcptype active',
      'a=candidate:6 1 udp 1 198.51.100.6 50006 typ srflx raddr 10.0.0.3 rport 3', 'a=candidate:7 1 udp 1 10.0.0.7 50007 typ host', 'a=candidate:8 1 udp 1 203.0.113.8 50008 typ relay',
    ].join('\r\n'));
    const offer = planWebRtcAnswer(many, parseSdp(many), ['PCMU'], true, true).offer;
    const kept = offer.split('\r\n').filter((l) => l.startsWith('a=candidate:')).map((l) => l.split(' ')[0]);
    assert.deepEqual(kept, ['a=candidate:1', 'a=candidate:3', 'a=candidate:4', 'a=candidate:6'], 'no mDNS name, TCP, relay, nor a fifth');
    assert.match(offer, /^a=setup:active$/m, 'the stack is told the browser is active, so it answers passive (RFC 5763 §5)');
    assert.doesNotMatch(offer, /^a=setup:actpass$|^a=end-of-candidates/m);
  });

  it('with full ICE: never checks what only the gateway can reach (a caller writes the candidates)', () => {
    const hostile = CHROME.replace('a=end-of-candidates', [
      'a=candidate:3 1 udp 1 169.254.169.254 50003 typ host', 'a=candidate:4 1 udp 1 fe80::1 50004 typ host', 'a=candidate:5 1 udp 1 224.0.0.251 5353 typ host',
      'a=candidate:6 1 udp 1 0.0.0.0 50006 typ host', 'a=candidate:7 1 udp 1 10.0.0.7 53 typ host', 'a=candidate:8 1 udp 1 255.255.255.255 50008 typ host',
      'a=candidate:9 1 udp 1 ff02::1 50009 typ host', 'a=candidate:10 1 udp 1 192.168.1.10 50010 typ host',
    ].join('\r\n'));
    const kept = (loopback: boolean) => planWebRtcAnswer(hostile, parseSdp(hostile), ['PCMU'], true, loopback).offer
      .split('\r\n').filter((l) => l.startsWith('a=candidate:')).map((l) => l.split(' ')[0]);
    assert.deepEqual(kept(false), ['a=candidate:10'], 'loopback only with a loopback bind; no link-local, multicast, unspecified, broadcast, nor a port below 1024; a LAN address is fine');
    assert.deepEqual(kept(true), ['a=candidate:1', 'a=candidate:10']);
    assert.equal(checkableCandidate('::1', 50000, false), false);
    assert.equal(checkableCandidate('2001:db8::1', 50000, false), true);
  });

  it('refuses an Opus-only offer (488) and one without a fingerprint or ICE credentials', () => {
    const opus = CHROME.replace(/^m=audio 9 (\S+) .*$/m, 'm=audio 9 $1 111');
    assert.throws(() => planWebRtcAnswer(opus, parseSdp(opus), ['PCMU', 'PCMA']), (e: unknown) => isMediaError(e, 'MEDIA_ERR_SDP_NO_COMMON_CODEC'));
    const noFp = CHROME.replace(/^a=fingerprint:.*\r\n/m, '');
    assert.throws(() => planWebRtcAnswer(noFp, parseSdp(noFp), ['PCMU']), (e: unknown) => isMediaError(e, 'MEDIA_ERR_SDP_MALFORMED'));
    const noIce = CHROME.replace(/^a=ice-ufrag:.*\r\n/m, '');
    assert.throws(() => planWebRtcAnswer(noIce, parseSdp(noIce), ['PCMU']), (e: unknown) => isMediaError(e, 'MEDIA_ERR_SDP_MALFORMED'));
  });

  it('adds the public address as a host candidate and announces our SSRC in the answer', () => {
    const answer = 'v=0\r\nm=audio 20000 UDP/TLS/RTP/SAVPF 0\r\na=candidate:1 1 UDP 2114977791 127.0.0.1 20000 typ host\r\na=end-of-candidates\r\n';
    const withPublic = addHostCandidate(answer, '203.0.113.9', 20000);
    assert.match(withPublic, /a=candidate:9 1 UDP \d+ 203\.0\.113\.9 20000 typ host\r\na=end-of-candidates/);
    assert.equal(addHostCandidate(withPublic, '203.0.113.9', 20000), withPublic, 'idempotent');
    assert.match(addSsrc(answer, 1234, 'warmline-1'), /a=ssrc:1234 cname:warmline-1\r\n$/);
  });
});
