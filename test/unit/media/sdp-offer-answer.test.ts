import assert from 'node:assert/strict';
import { parseSdp, SdpNegotiator, isMediaError } from '../../../media/index.js';

const offer = (m: string, extra: string[] = []): string =>
  ['v=0', 'o=carrier 7 7 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0', `m=audio 30000 ${m}`, ...extra, ''].join('\r\n');

describe('media SDP offer/answer details', () => {
  it('no telephone-event offered → none answered (DTMF then only in-band)', () => {
    const n = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    const { sdp, negotiated } = n.answer(parseSdp(offer('RTP/AVP 0')));
    assert.equal(negotiated.telephoneEvent, null);
    assert.match(sdp, /m=audio 20000 RTP\/AVP 0\r\n/);
    assert.doesNotMatch(sdp, /telephone-event/);
    assert.equal(negotiated.ptime, 20);
  });

  it('a telephone-event rtpmap the m= line does not list is ignored', () => {
    const n = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    const { negotiated } = n.answer(parseSdp(offer('RTP/AVP 0', ['a=rtpmap:101 telephone-event/8000'])));
    assert.equal(negotiated.telephoneEvent, null);
  });

  it('PCMU on a dynamic payload type is answered with that payload type', () => {
    const n = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    const { sdp, negotiated } = n.answer(parseSdp(offer('RTP/AVP 96 97', ['a=rtpmap:96 PCMU/8000', 'a=rtpmap:97 telephone-event/8000'])));
    assert.equal(negotiated.codec.payloadType, 96);
    assert.equal(negotiated.telephoneEvent?.payloadType, 97);
    assert.match(sdp, /m=audio 20000 RTP\/AVP 96 97\r\n/);
    assert.match(sdp, /a=rtpmap:96 PCMU\/8000/);
  });

  it('PCMU at another clock rate, or only wideband codecs, is no common codec (→ 488)', () => {
    const n = new SdpNegotiator({ address: '127.0.0.1', port: 20000 });
    for (const o of [offer('RTP/AVP 96', ['a=rtpmap:96 PCMU/16000']), offer('RTP/AVP 111 9', ['a=rtpmap:111 opus/48000/2']), offer('RTP/AVP 0').replace('m=audio 30000', 'm=audio 0')]) {
      assert.throws(() => n.answer(parseSdp(o)), (e) => isMediaError(e, 'MEDIA_ERR_SDP_NO_COMMON_CODEC'), o);
    }
  });

  it('our own offer lists PCMU, PCMA and telephone-event at ptime 20, and a peer negotiator accepts it', () => {
    const ours = new SdpNegotiator({ address: '127.0.0.1', port: 20000 }).offer();
    const parsed = parseSdp(ours);
    assert.deepEqual(parsed.audio?.formats, [0, 8, 101]);
    assert.equal(parsed.audio?.ptime, 20);
    assert.equal(parsed.audio?.rtpmaps.find((r) => r.payloadType === 101)?.encoding, 'telephone-event');
    const peer = new SdpNegotiator({ address: '127.0.0.2', port: 22000, codecs: ['PCMA'] });
    const { negotiated } = peer.answer(parsed);
    assert.equal(negotiated.codec.encoding, 'PCMA');
    assert.equal(negotiated.telephoneEvent?.payloadType, 101);
    assert.equal(negotiated.remotePort, 20000);
    assert.equal(negotiated.remoteRtcpPort, 20001);
  });
});
