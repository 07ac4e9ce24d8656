import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { parseMessage, SipResponse, UdpTransport, UserAgent, type SipMessage } from '../../../../sip/index.js';
import { EdgeFilter } from '../../../../sip/edge/index.js';
import { until } from '../../../support/wait.js';
import { SDP } from '../transport/stream-peer.js';

/**
 * Issue 9: under a burst, 63 BYEs got 503 from the per-source limiter and their
 * calls kept their ASR sockets until the RTP timeout. The limit is for new
 * dialogs and out-of-dialog requests; what belongs to work already admitted —
 * a request inside a dialog we hold, a CANCEL for an INVITE we hold — passes.
 */
describe('sip/ua: the rate limit spares in-dialog requests and CANCEL', function () {
  this.timeout(10_000);
  let udp: UdpTransport;
  let ua: UserAgent;
  let peer: dgram.Socket;
  const got: SipMessage[] = [];
  const edge = new EdgeFilter({ carriers: ['127.0.0.0/8'], rate: { perSecond: 0.001, burst: 2 }, logger: { warn: () => undefined } });

  before(async () => {
    udp = await UdpTransport.bind('127.0.0.1', 0);
    ua = new UserAgent({ transport: udp, inboundFilter: edge.filter, timers: { T1: 10, T2: 40, T4: 50 } });
    peer = dgram.createSocket('udp4');
    peer.on('message', (m) => got.push(parseMessage(m)));
    peer.bind(0, '127.0.0.1');
    await once(peer, 'listening');
  });
  after(async () => {
    peer.close();
    await ua.close();
    await udp.close();
  });

  const req = (method: string, callId: string, opts: { branch?: string; toTag?: string; cseq?: number; body?: string } = {}) => {
    const body = opts.body ?? '';
    return [
      `${method} sip:agent@127.0.0.1:${udp.local.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${peer.address().port};branch=${opts.branch ?? `z9hG4bK-${method}-${callId}`};rport`,
      'Max-Forwards: 70', `From: <sip:c@127.0.0.1>;tag=f-${callId}`, `To: <sip:agent@127.0.0.1>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
      `Call-ID: ${callId}`, `CSeq: ${opts.cseq ?? 1} ${method}`, `Contact: <sip:c@127.0.0.1:${peer.address().port}>`,
      ...(body ? ['Content-Type: application/sdp'] : []), `Content-Length: ${Buffer.byteLength(body)}`, '', body,
    ].join('\r\n');
  };
  const send = (text: string) => peer.send(Buffer.from(text), udp.local.port, '127.0.0.1');
  const final = async (callId: string, method: string): Promise<SipResponse> => {
    let r: SipResponse | undefined;
    await until(() => {
      r = got.find((m): m is SipResponse => m instanceof SipResponse && m.callId === callId && m.cseq.method === method && m.status >= 200);
      return r !== undefined;
    }, `a final response to ${method} ${callId}`);
    return r!;
  };

  it('a BYE and a CANCEL pass a spent bucket; a new INVITE and an out-of-dialog OPTIONS get 503', async () => {
    // Call "a" is answered; call "b" is left ringing so that it can be cancelled.
    ua.on('invite', (c) => { if (c.callId === 'a') c.answer(SDP).catch(() => undefined); });
    send(req('INVITE', 'a', { body: SDP }));   // token 1
    const ok = await final('a', 'INVITE');
    assert.equal(ok.status, 200);
    send(req('ACK', 'a', { toTag: ok.to.tag!, branch: 'z9hG4bK-ack-a' }));
    send(req('INVITE', 'b', { body: SDP }));   // token 2: the bucket is now empty
    await until(() => got.some((m) => m instanceof SipResponse && m.callId === 'b' && m.status === 100), '100 to INVITE b');
    send(req('OPTIONS', 'c'));                 // out of dialog: refused
    assert.equal((await final('c', 'OPTIONS')).status, 503);
    send(req('INVITE', 'd', { body: SDP }));   // a new dialog: refused
    assert.equal((await final('d', 'INVITE')).status, 503);
    send(req('CANCEL', 'b', { branch: 'z9hG4bK-INVITE-b' })); // the INVITE b is ours: passes
    assert.equal((await final('b', 'CANCEL')).status, 200);
    assert.equal((await final('b', 'INVITE')).status, 487);
    send(req('BYE', 'a', { toTag: ok.to.tag!, cseq: 2 })); // inside dialog a: passes
    assert.equal((await final('a', 'BYE')).status, 200);
    send(req('BYE', 'x', { toTag: 'nosuchdialog', cseq: 2 })); // claims a dialog we do not hold: limited like any other
    assert.equal((await final('x', 'BYE')).status, 503);
    assert.equal(edge.stats().refusedRate, 3);
  });
});
