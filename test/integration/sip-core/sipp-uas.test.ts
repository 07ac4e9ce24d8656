import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { UdpTransport, UserAgent, type IncomingCall, parseMessage, SipResponse } from '../../../sip/index.js';
import { sipp as runSipp } from '../../support/sipp.js';
import { until } from '../../support/wait.js';

const SCENARIOS = fileURLToPath(new URL('./scenarios/', import.meta.url));
const SDP = 'v=0\r\no=warmline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n';

/** Runs sipp against our stack, bounded in calls and time; resolves with its exit code and output. */
const sipp = (port: number, args: string[], timeoutS = 30) => runSipp({ address: '127.0.0.1', port }, args, timeoutS).done;

describe('sip: the UA answers sipp (UDP)', function () {
  this.timeout(60000);
  let transport: UdpTransport;
  let ua: UserAgent;
  const ended: string[] = [];
  let confirmed = 0;

  before(async () => {
    transport = await UdpTransport.bind('127.0.0.1', 0);
    // short timers: the ACK-lost scenario waits for one 200 retransmission
    ua = new UserAgent({ transport, timers: { T1: 100, T2: 400, T4: 500 } });
    ua.on('invite', (call: IncomingCall) => {
      call.on('ended', (why) => ended.push(why));
      call.on('confirmed', () => confirmed++);
      call.progress(180);
      // the CANCEL scenario needs the call left ringing; every other call is answered
      if (call.invite.uri.startsWith('sip:ring')) return;
      // Answered on a later turn of the loop, after the 180 went out: a phone rings, then answers.
      setImmediate(() => call.answer(SDP).catch(() => undefined));
    });
  });
  after(async () => {
    await ua.close();
    await transport.close();
  });

  it('answers 20 INVITE/ACK/BYE calls from sipp\'s built-in UAC with no failure', async () => {
    const before = ended.length;
    const r = await sipp(transport.local.port, ['-sn', 'uac', '-s', 'agent', '-m', '20', '-r', '20', '-l', '20', '-d', '200']);
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.equal(ended.length - before, 20);
    assert.ok(ended.slice(before).every((w) => w === 'bye'));
  });

  it('CANCEL before the answer: 200 for the CANCEL, 487 for the INVITE', async () => {
    const before = ended.length;
    const r = await sipp(transport.local.port, ['-sf', `${SCENARIOS}cancel.xml`, '-s', 'ring', '-m', '5', '-r', '5']);
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.deepEqual(ended.slice(before), ['cancel', 'cancel', 'cancel', 'cancel', 'cancel']);
  });

  it('lost ACKs (sipp lost="30"): the 200 is retransmitted until an ACK gets through, and every call is confirmed', async () => {
    const before = confirmed;
    const sentBefore = transport.stats.sent;
    const r = await sipp(transport.local.port, ['-sf', `${SCENARIOS}ack-lost.xml`, '-s', 'agent', '-m', '20', '-r', '20', '-l', '20']);
    assert.equal(r.code, 0, r.out.slice(-2000));
    assert.equal(confirmed - before, 20);
    // 20 calls × (100, 180, 200, 200 for BYE) = 80 without loss; retransmitted 200s come on top
    assert.ok(transport.stats.sent - sentBefore > 80, `sent ${transport.stats.sent - sentBefore}`);
  });

  it('OPTIONS gets 200 with Allow', async () => {
    const r = await sipp(transport.local.port, ['-sf', `${SCENARIOS}options.xml`, '-m', '5', '-r', '5']);
    assert.equal(r.code, 0, r.out.slice(-2000));
  });

  it('a malformed request gets 400 and the stack keeps serving', async () => {
    const sock = createSocket('udp4');
    try {
      const bad = Buffer.from('INVITE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKbad;rport\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: bad-1\r\nCSeq: 1 INVITE\r\nContent-Length: 999\r\n\r\nv=0\r\n');
      const reply = new Promise<Buffer>((resolve) => sock.once('message', (m) => resolve(m)));
      sock.send(bad, transport.local.port, '127.0.0.1');
      const res = parseMessage(await reply);
      assert.ok(res instanceof SipResponse);
      assert.equal(res.status, 400);
      assert.match(res.reason, /Content-Length 999/);
      sock.send(Buffer.from([0x00, 0xff, 0x10, 0x42]), transport.local.port, '127.0.0.1');
      await until(() => transport.stats.dropped >= 1, 'the garbage datagram dropped');
      assert.ok(transport.stats.rejected >= 1);
    } finally {
      sock.close();
    }
    const r = await sipp(transport.local.port, ['-sf', `${SCENARIOS}options.xml`, '-m', '1']);
    assert.equal(r.code, 0, 'still serving after garbage');
  });

  it('while draining, a new INVITE gets 503 and no call is offered', async () => {
    ua.draining = true;
    const offered = ua.stats.calls;
    try {
      const r = await sipp(transport.local.port, ['-sn', 'uac', '-s', 'agent', '-m', '1'], 5);
      assert.notEqual(r.code, 0, 'sipp counts the 503 as a failed call');
      assert.equal(ua.stats.calls, offered);
      assert.ok(ua.stats.drained >= 1);
    } finally {
      ua.draining = false;
    }
  });
});
