import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { TcpTransport, UdpTransport, UserAgent, type IncomingCall } from '../../../sip/index.js';
import { sipp } from '../../support/sipp.js';

const SCENARIOS = fileURLToPath(new URL('./scenarios/', import.meta.url));
const sdp = (direction: string) => `v=0\r\no=warmline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=${direction}\r\n`;
/** RFC 3264 §6.1: the answer to sendonly is recvonly (hold); to sendrecv, sendrecv. */
const answerTo = (offer: string | undefined) => sdp(/a=sendonly/.test(offer ?? '') ? 'recvonly' : /a=inactive/.test(offer ?? '') ? 'inactive' : 'sendrecv');

describe('sip: one UserAgent on UDP and TCP answers sipp over both', function () {
  this.timeout(60_000);
  let udp: UdpTransport;
  let tcp: TcpTransport;
  let ua: UserAgent;
  const ended: string[] = [];
  const reinvites: string[] = [];
  const transports: string[] = [];

  before(async () => {
    udp = await UdpTransport.bind('127.0.0.1', 0);
    tcp = await TcpTransport.bind('127.0.0.1', 0);
    ua = new UserAgent({ transport: [udp, tcp], timers: { T1: 100, T2: 400, T4: 500 } });
    ua.on('invite', (call: IncomingCall) => {
      transports.push(call.transport.protocol);
      call.on('ended', (why) => ended.push(why));
      call.on('reinvite', (offer, answer) => {
        reinvites.push(/a=sendonly/.test(offer ?? '') ? 'hold' : 'unhold');
        answer(answerTo(offer));
      });
      call.progress(180);
      void call.answer(answerTo(call.offer)).catch(() => undefined);
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
    transports.length = 0;
  });

  it('20 INVITE/ACK/BYE calls from sipp -t t1 (one TCP connection for all calls), none over UDP', async () => {
    const udpBefore = udp.stats.received;
    const openedBefore = tcp.stats.opened;
    const r = await sipp(tcp.local, ['-t', 't1', '-sn', 'uac', '-s', 'agent', '-m', '20', '-r', '20', '-l', '20', '-d', '200'], 30).done;
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.deepEqual(ended, Array(20).fill('bye'));
    assert.deepEqual([...new Set(transports)], ['TCP']);
    assert.equal(tcp.stats.opened - openedBefore, 1, 'sipp -t t1 uses one connection, and every response went back on it');
    assert.equal(udp.stats.received, udpBefore);
    assert.equal(tcp.stats.framingErrors + tcp.stats.oversize, 0);
  });

  it('sipp -t tn (one TCP connection per call): 10 calls', async () => {
    const openedBefore = tcp.stats.opened;
    const r = await sipp(tcp.local, ['-t', 'tn', '-max_socket', '100', '-sn', 'uac', '-s', 'agent', '-m', '10', '-r', '10', '-l', '10', '-d', '100'], 30).done;
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.equal(ended.length, 10);
    assert.equal(tcp.stats.opened - openedBefore, 10);
  });

  for (const t of ['UDP', 'TCP'] as const) {
    it(`re-INVITE hold and unhold over ${t}: the answers say recvonly then sendrecv, and the call ends with BYE`, async () => {
      const target = t === 'UDP' ? udp.local : tcp.local;
      const r = await sipp(target, [...(t === 'TCP' ? ['-t', 't1'] : []), '-sf', `${SCENARIOS}reinvite-hold.xml`, '-s', 'agent', '-m', '5', '-r', '10', '-l', '5'], 30).done;
      assert.equal(r.code, 0, r.out.slice(-2000));
      assert.deepEqual(transports, Array(5).fill(t));
      assert.equal(reinvites.filter((x) => x === 'hold').length, 5);
      assert.equal(reinvites.filter((x) => x === 'unhold').length, 5);
      assert.deepEqual(ended, Array(5).fill('bye'));
    });
  }
});
