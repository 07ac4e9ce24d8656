import assert from 'node:assert/strict';
import { OutgoingCall, UdpTransport, UserAgent, type OutgoingEnd } from '../../../../sip/index.js';
import { SilentTarget } from '../../../support/silent-target.js';
import { until } from '../../../support/wait.js';

const SDP = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 0', ''].join('\r\n');

/**
 * An OutgoingCall's noResponseTimeoutMs (silent-destination.ts) against a real UDP peer that says
 * nothing until told. Short timers (T1 = 10 ms, Timer B 640 ms) play each story in under a second.
 */
describe('sip/ua: an INVITE to a destination that sends no response at all', function () {
  this.timeout(20_000);
  let udp: UdpTransport;
  let ua: UserAgent;
  let peer: SilentTarget;

  beforeEach(async () => {
    udp = await UdpTransport.bind('127.0.0.1', 0);
    ua = new UserAgent({ transport: udp, timers: { T1: 10, T2: 40, T4: 50 } });
    peer = await SilentTarget.bind();
  });
  afterEach(async () => {
    peer.close();
    await ua.close();
    await udp.close();
  });

  function call(noResponseTimeoutMs: number): { sip: OutgoingCall; ended: Promise<OutgoingEnd> } {
    const sip = new OutgoingCall(ua, { target: 'sip:+15550000001@silent.test', from: 'sip:acme@trunk.test', sdp: SDP, destination: { address: '127.0.0.1', port: peer.port, transport: 'udp' }, ringTimeoutMs: 10_000, noResponseTimeoutMs });
    const ended = new Promise<OutgoingEnd>((resolve) => sip.once('ended', resolve));
    sip.start();
    return { sip, ended };
  }

  it('is given up as `transport` before Timer B; the INVITE is not sent again, its transaction ends at Timer B', async () => {
    const { ended } = call(50);
    const end = await ended;
    assert.equal(end.reason, 'transport');
    assert.match(end.detail ?? '', /no response at all within 50 ms/);
    assert.equal(ua.openTransactions.client, 1, 'the transaction waits on, for a late response');
    await until(() => ua.openTransactions.client === 0, 'Timer B ends the transaction');
    // Timer A sends at 0, T1, 3·T1 before 50 ms; had it gone on, about seven by Timer B.
    const invites = peer.received('INVITE').length;
    assert.ok(invites >= 1 && invites <= 3, `INVITEs: ${invites}`);
    assert.equal(peer.received('CANCEL').length, 0, 'no CANCEL without a provisional response (§9.1)');
  });

  it('already being cancelled (our hang-up) when given up: ends as `cancelled`, not as a target to fail over from', async () => {
    const { sip, ended } = call(50);
    await until(() => peer.received('INVITE').length >= 1, 'the INVITE');
    const hungUp = sip.hangup();
    assert.equal((await ended).reason, 'cancelled');
    await hungUp;
    assert.equal(peer.received('CANCEL').length, 0, 'no CANCEL without a provisional response (§9.1)');
  });

  it('a late 180 gets our CANCEL; a 200 crossing it is ACKed and ended with BYE; nothing is emitted after the end', async () => {
    const { sip, ended } = call(50);
    const after: string[] = [];
    await ended;
    sip.on('progress', () => after.push('progress'));
    sip.on('answered', () => after.push('answered'));
    const invite = peer.received('INVITE')[0]!;
    peer.respond(invite, 180, { toTag: 'late' });
    await until(() => peer.received('CANCEL').length === 1, 'our CANCEL for the late 180');
    assert.equal(peer.received('CANCEL')[0]!.via[0]!.params.get('branch'), invite.via[0]!.params.get('branch'));
    peer.respond(invite, 200, { toTag: 'late', sdp: SDP });
    await until(() => peer.received('BYE').length === 1, 'our BYE for the late 200');
    const ack = peer.received('ACK')[0];
    assert.ok(ack && ack.to.tag === 'late' && peer.requests.indexOf(ack) < peer.requests.indexOf(peer.received('BYE')[0]!), 'ACKed, then BYE');
    assert.deepEqual(after, [], 'the call had ended: a late response makes no call');
    assert.equal(ua.activeCalls, 0);
  });
});
