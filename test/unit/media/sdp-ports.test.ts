import assert from 'node:assert/strict';
import { parseSdp, SdpNegotiator, PortAllocator, isMediaError } from '../../../media/index.js';

const offer = (fmts: string, extra: string[] = [], dir = 'sendrecv'): string =>
  ['v=0', 'o=carrier 1 1 IN IP4 127.0.0.9', 's=-', 'c=IN IP4 127.0.0.9', 't=0 0', `m=audio 40000 RTP/AVP ${fmts}`, ...extra, `a=${dir}`, 'm=video 40002 RTP/AVP 96', ''].join('\r\n');

describe('media SDP and ports', () => {
  it('answers PCMU preferred with telephone-event, ptime 20, rejects video with port 0', () => {
    const n = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    const { sdp, negotiated } = n.answer(parseSdp(offer('8 0 101', ['a=rtpmap:101 telephone-event/8000', 'a=fmtp:101 0-15'])));
    assert.equal(negotiated.codec.encoding, 'PCMU');
    assert.equal(negotiated.telephoneEvent?.payloadType, 101);
    assert.equal(negotiated.remoteAddress, '127.0.0.9');
    assert.equal(negotiated.remoteRtcpPort, 40001);
    assert.match(sdp, /m=audio 20000 RTP\/AVP 0 101\r\n/);
    assert.match(sdp, /a=ptime:20/);
    assert.match(sdp, /a=rtcp:20001/);
    assert.match(sdp, /m=video 0 RTP\/AVP 96/);
    const again = parseSdp(sdp);
    assert.equal(again.audio?.port, 20000);
  });

  it('answers PCMA when that is all that is offered', () => {
    const n = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    assert.equal(n.answer(parseSdp(offer('8'))).negotiated.codec.encoding, 'PCMA');
  });

  it('no common codec is MEDIA_ERR_SDP_NO_COMMON_CODEC (→ 488)', () => {
    const n = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    assert.throws(() => n.answer(parseSdp(offer('18 9'))), (e) => isMediaError(e, 'MEDIA_ERR_SDP_NO_COMMON_CODEC'));
  });

  it('hold/unhold re-INVITE answers mirror direction and bump the version only on change', () => {
    const n = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    const v = (s: string): number => parseSdp(s).origin.sessionVersion;
    const a1 = n.answer(parseSdp(offer('0'))).sdp;
    const held = n.answer(parseSdp(offer('0', [], 'sendonly')));
    assert.equal(held.negotiated.direction, 'recvonly');
    assert.equal(v(held.sdp), v(a1) + 1);
    assert.equal(n.answer(parseSdp(offer('0', [], 'inactive'))).negotiated.direction, 'inactive');
    const un = n.answer(parseSdp(offer('0')));
    assert.equal(un.negotiated.direction, 'sendrecv');
    assert.equal(v(n.answer(parseSdp(offer('0'))).sdp), v(un.sdp));
    assert.match(n.offer('sendonly'), /a=sendonly/);
  });

  it('malformed SDP is MEDIA_ERR_SDP_MALFORMED', () => {
    for (const s of ['', 'x=1', 'v=0\r\ns=-\r\n', 'v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nm=audio 1 RTP/AVP 0\r\n', 'v=0\r\no=a 1 1 IN IP4 h\r\nc=IN IP4 h\r\nm=audio x RTP/AVP 0\r\n']) {
      assert.throws(() => parseSdp(s), (e) => isMediaError(e, 'MEDIA_ERR_SDP_MALFORMED'), JSON.stringify(s));
    }
  });

  it('ports: even RTP ports, release, exhaustion and bad ranges are typed', () => {
    const a = new PortAllocator(30001, 30006);
    const p1 = a.allocate();
    const p2 = a.allocate();
    assert.deepEqual([p1, p2], [30002, 30004]);
    assert.throws(() => a.allocate(), (e) => isMediaError(e, 'MEDIA_ERR_PORTS_EXHAUSTED'));
    a.release(p1);
    a.release(p1);
    assert.equal(a.allocate(), 30002);
    assert.throws(() => new PortAllocator(5, 10), (e) => isMediaError(e, 'MEDIA_ERR_PORT_RANGE'));
    assert.throws(() => new PortAllocator(30001, 30002), (e) => isMediaError(e, 'MEDIA_ERR_PORT_RANGE'));
  });
});
