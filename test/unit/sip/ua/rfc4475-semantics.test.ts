import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { SipResponse, TcpTransport, UserAgent } from '../../../../sip/index.js';
import { acceptsSdp } from '../../../../sip/ua/uas-checks.js';
import { until } from '../../../support/wait.js';
import { StreamPeer, SDP } from '../transport/stream-peer.js';
import * as sem from '../rfc4475/semantics.js';

/**
 * RFC 4475 §3.3, application-layer semantics, against the UA core as a UAS
 * (RFC 3261 §8.2.2–8.2.3). The messages are the RFC's, byte for byte, sent
 * over a real TCP connection (responses go back on it whatever the Via's
 * sent-by says). Each would be answered 200 if it got through: the UA
 * answers every INVITE with SDP and every OPTIONS itself.
 */
// The RFC's §3.3 messages, typed in once from its text (test/unit/sip/rfc4475/semantics.ts):
// unkscm and novelsc "reject it with a 416", bext01 "a 420 Bad Extension response listing both
// option tags in an Unsupported header field" (a UAS ignores Proxy-Require), invut "a 415
// Unsupported Media Type, containing an Accept header field", sdp01 "a 406 Not Acceptable".
const RFC4475 = sem;

describe('sip/ua: RFC 4475 §3.3 semantics as a UAS (RFC 3261 §8.2.2, §8.2.3)', function () {
  this.timeout(10_000);
  let tcp: TcpTransport;
  let ua: UserAgent;
  let peer: StreamPeer;
  const refused: Array<[string, number]> = [];

  before(async () => {
    tcp = await TcpTransport.bind('127.0.0.1', 0);
    ua = new UserAgent({ transport: tcp });
    ua.on('invite', (c) => { c.answer(SDP).catch(() => undefined); });
    ua.on('refused', (req, status) => refused.push([req.callId, status]));
    const s = connect({ host: '127.0.0.1', port: tcp.local.port });
    await once(s, 'connect');
    peer = new StreamPeer(s);
  });
  after(async () => {
    peer.end();
    await ua.close();
    await tcp.close();
  });

  async function answer(message: Buffer | readonly string[]): Promise<SipResponse> {
    const text = Buffer.isBuffer(message) ? message.toString('utf8') : message.join('\r\n');
    const lines = text.split('\r\n');
    const callId = lines.find((l) => l.startsWith('Call-ID: '))!.slice(9);
    await peer.write(text);
    let res: SipResponse | undefined;
    await until(() => {
      res = peer.messages.find((m): m is SipResponse => m instanceof SipResponse && m.callId === callId && m.status >= 200);
      return res !== undefined;
    }, `a final response to ${callId}`);
    if (lines[0]!.startsWith('INVITE ') && res!.status >= 300) {
      // §17.1.1.3: the ACK for a non-2xx completes the INVITE transaction, whose branch the next case reuses.
      const h = (name: string) => lines.find((l) => l.toLowerCase().startsWith(`${name}:`))!;
      await peer.write([`ACK ${lines[0]!.split(' ')[1]} SIP/2.0`, h('via'), h('from'), `To: ${res!.header('to')}`, h('call-id'), `CSeq: ${res!.cseq.seq} ACK`, 'Max-Forwards: 70', 'Content-Length: 0', '', ''].join('\r\n'));
    }
    return res!;
  }

  it('§3.3.2 unkscm: an unknown Request-URI scheme gets 416', async () => {
    assert.equal((await answer(RFC4475.unkscm)).status, 416);
  });

  it('§3.3.3 novelsc: a known but atypical scheme we never serve gets 416', async () => {
    assert.equal((await answer(RFC4475.novelsc)).status, 416);
  });

  it('§3.3.5 bext01: Require with unknown options gets 420 listing both in Unsupported, Proxy-Require ignored', async () => {
    const res = await answer(RFC4475.bext01);
    assert.equal(res.status, 420, res.toString());
    assert.deepEqual(res.headerValues('unsupported').flatMap((v) => v.split(',')).map((s) => s.trim()), ['nothingSupportsThis', 'nothingSupportsThisEither']);
  });

  it('§3.3.6 invut: an INVITE with a body of an unknown type gets 415 with Accept: application/sdp', async () => {
    const res = await answer(RFC4475.invut);
    assert.equal(res.status, 415);
    assert.equal(res.header('accept'), 'application/sdp');
  });

  it('§3.3.15 sdp01: an INVITE whose Accept excludes SDP gets 406', async () => {
    assert.equal((await answer(RFC4475.sdp01)).status, 406);
  });

  it('Require: precondition (RFC 3312, not supported) gets 420; Require: 100rel (RFC 3262) and Require: timer pass', async () => {
    const invite = (callId: string, require: string) => [
      'INVITE sip:agent@127.0.0.1 SIP/2.0', `Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-${callId}`, 'Max-Forwards: 70',
      `From: <sip:c@127.0.0.1>;tag=${callId}`, 'To: <sip:agent@127.0.0.1>', `Call-ID: ${callId}`, 'CSeq: 1 INVITE',
      'Contact: <sip:c@127.0.0.1;transport=tcp>', `Require: ${require}`, 'Session-Expires: 1800', 'Supported: timer',
      'Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(SDP)}`, '', SDP,
    ];
    const pre = await answer(invite('precond', 'precondition'));
    assert.equal(pre.status, 420);
    assert.equal(pre.header('unsupported'), 'precondition');
    assert.equal((await answer(invite('rel100', '100rel'))).status, 200);
    assert.equal((await answer(invite('timer', 'timer'))).status, 200);
  });

  it('every refused INVITE was reported with its status; refused OPTIONS were not', () => {
    assert.deepEqual(refused, [['invut.0ha0isndaksdjadsfij34n23d', 415], ['sdp01.ndaksdj9342dasdd', 406], ['precond', 420]]);
  });

  it('Accept: the most specific range decides, q=0 refuses, an empty Accept admits nothing', () => {
    for (const ok of [['application/sdp'], ['APPLICATION/SDP;level=1'], ['text/plain, application/*'], ['*/*'], ['text/plain', 'application/sdp;q=0.5'], ['application/sdp, */*;q=0']]) assert.ok(acceptsSdp(ok), ok.join(' | '));
    for (const no of [['text/nobodyKnowsThis'], [''], ['application/sdp;q=0'], ['*/*;q=0.000'], ['application/sdpx'], ['application/sdp;q=0, */*']]) assert.ok(!acceptsSdp(no), no.join(' | '));
  });
});
