import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startReplica } from '../../support/replica.js';
import { RawUac } from '../../support/sip-uac.js';
import { RtpPeer } from '../../support/rtp-peer.js';
import { sipp } from '../../support/sipp.js';
import { until } from '../../support/wait.js';

const SCENARIOS = fileURLToPath(new URL('../calls/scenarios/', import.meta.url));

/**
 * SIGTERM on a gateway with a call in progress, as a balancer-fronted
 * replica sees it in a rolling deploy: not ready, new INVITEs 503, the call
 * may go on for the grace, then it is hung up with BYE and the process exits 0.
 */
describe('gateway: SIGTERM drains calls in progress', function () {
  this.timeout(60_000);

  it('readyz turns 503, new INVITEs get 503, the call in progress gets its grace then a BYE, exit 0', async () => {
    const replica = await startReplica({
      WARMLINE_MEDIA__PORTMIN: '47000', WARMLINE_MEDIA__PORTMAX: '47199', WARMLINE_CALLS__DRAINGRACEMS: '3000',
    });
    const { url, sip } = replica;
    const peer = await RtpPeer.bind();
    const uac = await RawUac.bind();
    let talking = true;
    try {
      const call = sipp(sip, ['-sf', `${SCENARIOS}call-wait-bye.xml`, '-s', '15550001000', '-key', 'rtp_port', String(peer.port), '-m', '1']);
      type Calls = { active: Array<{ localPort?: number }>; recent: Array<{ endReason?: string }> };
      const calls = async () => (await (await fetch(`${url}/api/calls`)).json()) as Calls;
      let localPort: number | undefined;
      await until(async () => { localPort = (await calls()).active[0]?.localPort; return localPort !== undefined; }, 'call answered');
      peer.target('127.0.0.1', localPort!);
      const keep = (async () => { while (talking) await peer.send(Buffer.alloc(1600, 0xff)); })();

      replica.kill('SIGTERM');
      await until(async () => (await fetch(`${url}/readyz`)).status === 503, 'not ready while draining');
      const refused = await uac.invite(sip, '+15551230000');
      assert.equal(refused.status, 503, 'a new INVITE is sent elsewhere');
      assert.equal((await calls()).active.length, 1, 'the call in progress goes on');
      // The grace ends: the gateway hangs up (sipp's scenario waits for that BYE), then exits 0.
      const r = await call.done;
      assert.equal(r.code, 0, r.out);
      talking = false;
      await keep;
      assert.equal(await replica.exit, 0, replica.stderr());
    } finally {
      talking = false;
      replica.kill();
      peer.close();
      uac.close();
    }
  });
});
