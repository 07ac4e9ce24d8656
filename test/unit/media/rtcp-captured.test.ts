import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RtcpBye, RtcpCompound, RtcpReceiverReport, RtcpSenderReport, RtcpSourceDescription, isMediaError } from '../../../media/index.js';

const fixture = (name: string): Buffer => readFileSync(new URL(`./fixtures/${name}`, import.meta.url));

// The values below are read off the bytes by hand (RFC 3550 §6.4), not produced by our code.
const block = { ssrc: 0xbc5e9a40, fractionLost: 0, packetsLost: 0, highestSeq: 0x46e1, jitter: 273, lsr: 0x09f36432, dlsr: 150137 };

describe('RTCP against captured packets', () => {
  it('parses a browser\'s compound RR + SDES + BYE, skipping the feedback and APP packets after it', () => {
    const pkts = RtcpCompound.deSerialize(fixture('rtcp-rr-sdes-bye-dump.bin'));
    assert.deepEqual(pkts, [
      new RtcpReceiverReport(0x902f9e2e, [block]),
      new RtcpSourceDescription([{ ssrc: 0x902f9e2e, items: [{ type: 1, text: '{9c00eb92-1afb-9d49-a47d-91f64eee69f5}' }] }]),
      new RtcpBye([0x902f9e2e]),
    ]);
  });

  it('writes the same RR + SDES + BYE bytes the other stack wrote', () => {
    const dump = fixture('rtcp-rr-sdes-bye-dump.bin');
    const ours = RtcpCompound.serialize(RtcpCompound.deSerialize(dump));
    assert.equal(ours.toString('hex'), dump.subarray(0, 92).toString('hex'));
  });

  it('parses a softphone\'s SR + SDES from a captured SIP call, and writes the same bytes back', () => {
    const bytes = fixture('rtcp-sr-sdes-linphone.bin');
    const pkts = RtcpCompound.deSerialize(bytes);
    assert.deepEqual(pkts, [
      new RtcpSenderReport(0x251a, 0xd545a258, 0xa7bc3c5b, 20160, 124, 19840, [
        { ssrc: 0x7b47, fractionLost: 0, packetsLost: 0, highestSeq: 123, jitter: 159, lsr: 0, dlsr: 0 },
      ]),
      new RtcpSourceDescription([{
        ssrc: 0x251a,
        items: [
          { type: 1, text: 'sip:14408710049@10.2.1.74:5061' },
          { type: 6, text: 'Linphone-3.5.2' },
          { type: 7, text: 'This is free software (GPL) !' },
        ],
      }]),
    ]);
    assert.equal(RtcpCompound.serialize(pkts).toString('hex'), bytes.toString('hex'));
  });

  for (const name of ['rtcp-sr-truncated.bin', 'rtcp-rr-sdes-truncated.bin', 'rtcp-sr-bad-count.bin']) {
    it(`refuses ${name} with MEDIA_ERR_RTCP_MALFORMED`, () => {
      assert.throws(() => RtcpCompound.deSerialize(fixture(name)), (e: unknown) => isMediaError(e, 'MEDIA_ERR_RTCP_MALFORMED'));
    });
  }
});
