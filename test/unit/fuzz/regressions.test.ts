import assert from 'node:assert/strict';
import { runners } from '../../../bench/fuzz-targets.js';

/**
 * Inputs bench:fuzz found, minimised by hand, run through the same oracle as the fuzzer
 * (bench/fuzz-targets.ts): only the parser's typed errors may escape, and whatever we write back
 * (the 400 to a request we could not parse, the 200 to one we could) must parse again.
 * The first three were open bugs in sip/message when found; the strict parser (issue 9) fixed them.
 */
const request = (headers: Record<string, string>): Buffer => {
  const h: Record<string, string> = { Via: 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1', From: '<sip:a@b>;tag=1', To: '<sip:c@d>', 'Call-ID': 'x1', CSeq: '1 INVITE', 'Max-Forwards': '70', 'Content-Length': '0', ...headers };
  return Buffer.from(`INVITE sip:c@d SIP/2.0\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`, 'latin1');
};

const cases: Array<{ name: string; target: keyof typeof runners; input: Buffer }> = [
  { name: 'a NUL inside From is echoed into our 400 (control characters in what we write back)', target: 'sip', input: request({ From: '<sip:a\x00@b>;tag=1' }) },
  { name: 'a bare CR in a bad Content-Length is copied into our 400\'s reason phrase (header injection)', target: 'sip', input: request({ 'Content-Length': '0\r2' }) },
  { name: 'an empty or invalid Via element of a salvaged request is echoed into our 400, which then does not parse', target: 'sip', input: request({ Via: 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK1,,,garbage', 'Content-Length': 'x' }) },
  // Seeds and near-misses that must stay clean.
  { name: 'a valid INVITE with compact headers', target: 'sip', input: Buffer.from('INVITE sip:c@d SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK2\r\nf: <sip:a@b>;tag=1\r\nt: <sip:c@d>\r\ni: y\r\nCSeq: 1 INVITE\r\nl: 0\r\n\r\n', 'latin1') },
  { name: 'an RTP packet whose padding count exceeds its payload', target: 'rtp-rtcp', input: Buffer.from('a0000001000000a0deadbeef00ff', 'hex') },
  { name: 'an RTCP packet whose length runs past the datagram', target: 'rtp-rtcp', input: Buffer.from('81c8ffff0000beef', 'hex') },
  { name: 'an SDP with a port beyond 65535 and an rtpmap without a clock rate', target: 'sdp', input: Buffer.from('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 99999 RTP/AVP 0\r\na=rtpmap:0 PCMU\r\n') },
];

describe('fuzz: regressions found by bench:fuzz', () => {
  for (const c of cases) {
    it(`${c.target}: ${c.name}`, () => {
      assert.doesNotThrow(() => runners[c.target](c.input));
    });
  }
});
