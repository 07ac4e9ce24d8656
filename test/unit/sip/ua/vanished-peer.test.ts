import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { UdpTransport, UserAgent, type EndReason } from '../../../../sip/index.js';
import { until } from '../../../support/wait.js';
import { options, SDP } from '../transport/stream-peer.js';

/**
 * Issue 9: one INVITE over UDP from a peer that then vanished crashed the
 * gateway. The 200 went unACKed, our BYE went unanswered, and Timer F's
 * rejection 64·T1 later reached Node unhandled. Short timers (T1 = 10 ms)
 * play the whole story in about a second.
 */
describe('sip/ua: a peer that vanishes after its INVITE', function () {
  this.timeout(20_000);
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => { rejections.push(reason); };
  before(() => process.on('unhandledRejection', onRejection));
  after(() => process.off('unhandledRejection', onRejection));

  it('ends the dialog with ack-timeout at once, and the unanswered BYE fails with nothing unhandled', async () => {
    const udp = await UdpTransport.bind('127.0.0.1', 0);
    const ua = new UserAgent({ transport: udp, timers: { T1: 10, T2: 40, T4: 50 } });
    const peer = dgram.createSocket('udp4');
    const seen: string[] = [];
    peer.on('message', (m) => seen.push(m.toString('latin1').split(' ', 2).join(' ')));
    peer.bind(0, '127.0.0.1');
    await once(peer, 'listening');
    let ended: EndReason | undefined;
    let answer: Promise<string | undefined> | undefined;
    ua.on('invite', (c) => {
      c.once('ended', (r) => { ended = r; });
      answer = c.answer(SDP);
      answer.catch(() => undefined);
    });
    try {
      peer.send(options('vanish-udp', peer.address().port, 'UDP', { method: 'INVITE', body: SDP }), udp.local.port, '127.0.0.1');
      await until(() => ended !== undefined, 'the dialog to end');
      assert.equal(ended, 'ack-timeout');
      await assert.rejects(answer!, /ACK for 2xx/);
      await until(() => seen.some((l) => l.startsWith('BYE ')), `our BYE (seen: ${seen.join(', ')})`);
      // The BYE's client transaction times out (Timer F) and is dropped: its failure was owned.
      await until(() => ua.openTransactions.client === 0, 'the BYE transaction to time out');
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(rejections, []);
      assert.equal(ua.activeCalls, 0);
    } finally {
      peer.close();
      await ua.close();
      await udp.close();
    }
  });
});
