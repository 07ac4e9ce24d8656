import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { TcpTransport, UdpTransport, UserAgent, type EndReason, type IncomingCall } from '../../../sip/index.js';
import { sipp } from '../../support/sipp.js';

const SCENARIOS = fileURLToPath(new URL('./scenarios/', import.meta.url));
const SDP = 'v=0\r\no=warmline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

/**
 * RFC 4028 session timers on the UAS, against sipp. Min-SE is 2 s here (90 s
 * in production) so that intervals, refreshes and expiries take seconds.
 */
describe('sip: RFC 4028 session timers against sipp', function () {
  this.timeout(60_000);
  let udp: UdpTransport;
  let tcp: TcpTransport;
  let ua: UserAgent;
  const ended: EndReason[] = [];
  const reinvites: Array<string | undefined> = [];
  const offered: IncomingCall[] = [];

  before(async () => {
    udp = await UdpTransport.bind('127.0.0.1', 0);
    tcp = await TcpTransport.bind('127.0.0.1', 0);
    ua = new UserAgent({ transport: [udp, tcp], timers: { T1: 100, T2: 400, T4: 500 }, sessionTimers: { minSE: 2 } });
    ua.on('invite', (call) => {
      offered.push(call);
      call.on('ended', (why) => ended.push(why));
      call.on('reinvite', (offer, answer) => {
        reinvites.push(offer);
        answer(SDP);
      });
      void call.answer(SDP).catch(() => undefined);
    });
  });
  after(async () => {
    await ua.close();
    await udp.close();
    await tcp.close();
  });
  beforeEach(() => {
    ended.length = 0;
    reinvites.length = 0;
    offered.length = 0;
  });

  const run = (scenario: string, calls: number, extra: string[] = [], target = udp.local) =>
    sipp(target, [...extra, '-sf', `${SCENARIOS}${scenario}`, '-s', 'agent', '-m', String(calls), '-r', '10', '-l', String(calls)], 30).done;

  it('Session-Expires below our Min-SE gets 422 with Min-SE, and no call is offered', async () => {
    const r = await run('session-timer-422.xml', 3);
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.equal(offered.length, 0);
  });

  it('refresher=uas: we answer with Session-Expires and Require: timer, then refresh by UPDATE at half the interval', async () => {
    const r = await run('session-timer-uas-update.xml', 3);
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.deepEqual(ended, ['bye', 'bye', 'bye']);
    assert.deepEqual(offered.map((c) => c.sessionTimer), [undefined, undefined, undefined], 'timers are off once the call ended');
  });

  it('refresher=uas with a caller that does not allow UPDATE: we refresh by re-INVITE and ACK its 2xx (over TCP)', async () => {
    const r = await run('session-timer-uas-reinvite.xml', 3, ['-t', 't1'], tcp.local);
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.deepEqual(ended, ['bye', 'bye', 'bye']);
  });

  it('refresher=uac and the caller never refreshes: we BYE before expiry and the call ends with session-expired', async () => {
    const r = await run('session-timer-expire.xml', 3);
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.deepEqual(ended, ['session-expired', 'session-expired', 'session-expired']);
  });

  it('refresher=uac and the caller refreshes (UPDATE, then a re-INVITE with its SDP unchanged): the call outlives its interval; the unchanged offer does not reach the application', async () => {
    const r = await run('session-timer-uac-refresh.xml', 2);
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.deepEqual(ended, ['bye', 'bye']);
    assert.equal(reinvites.length, 0);
  });
});
