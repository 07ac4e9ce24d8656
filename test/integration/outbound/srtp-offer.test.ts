import assert from 'node:assert/strict';
import type { Gateway } from '../../../src/boot/gateway.js';
import { leasesOut } from '../../support/gateway.js';
import { until } from '../../support/wait.js';
import { closeTrunkRig, openTrunkRig, startUas, trunkAccount, type Api, type Trunk } from './support.js';

/**
 * SRTP on our own offers: a trunk whose media.srtp policy is `required` gets an RTP/SAVP offer with
 * a=crypto, and the answer's key is taken (acceptAnswer). The sipp callee checks the offer and
 * answers with our own key, so its plain -rtp_echo returns packets we can authenticate: RTP
 * received back proves the media went out as SRTP with the keys of the offer/answer (plain RTP
 * would be dropped as unauthenticated, a wrong key likewise).
 */
describe('outbound: SRTP offered to a trunk whose policy is required (Kamailio + sipp)', function () {
  this.timeout(90_000);
  let t: Trunk;
  let g: Gateway;
  let a: Api;

  before(async () => {
    ({ t, g, a } = await openTrunkRig((t) => ({
      media: { srtp: { trunks: [{ source: '127.0.0.1', policy: 'required' }] } },
      registrations: [trunkAccount(t, 'acme', 's3cret')],
      outbound: { ringTimeoutS: 8, trunks: [{ id: 'acme', maxConcurrent: 4, callsPerSecond: 20 }] },
    })));
  });
  after(() => closeTrunkRig({ t, g }));

  it('the INVITE offers RTP/SAVP with a=crypto; the answer\'s key is used: SRTP goes out and comes back authenticated', async () => {
    const uas = await startUas('uas-answer-srtp.xml', t.uasPort, t.mediaPort);
    try {
      const { id, view: answered } = await a.answered({ to: '+15550000401', trunk: 'acme' }, 'answered');
      await a.until(id, (v) => { const rtp = v.rtp as { received: number; sent: number } | undefined; return (rtp?.sent ?? 0) >= 5 && (rtp?.received ?? 0) >= 5; }, 'SRTP out and back', 35_000);
      const live = g.calls.view().active.find((c) => c.id === answered.callId);
      assert.equal(live?.rtp?.dropped.srtpAuth ?? 0, 0, 'nothing failed authentication');
      assert.equal((await a.del(id)).status, 200);
      await a.until(id, (v) => v.state === 'ended', 'ended');
      const done = await uas.done;
      assert.equal(done.code, 0, `the callee saw RTP/SAVP and a=crypto in our offer: ${done.out.slice(-2000)}`);
      await until(() => leasesOut(g) === 0, 'leases back');
    } finally { uas.stop(); }
  });
});
