import assert from 'node:assert/strict';
import type { Gateway } from '../../../src/boot/gateway.js';
import { leasesOut } from '../../support/gateway.js';
import { until } from '../../support/wait.js';
import { closeTrunkRig, openTrunkRig, startUas, trunkAccount, type Api, type Trunk } from './support.js';

/**
 * RFC 3262 on the calls we place: the INVITE offers 100rel, and a callee's reliable 180 is PRACKed
 * (through the Kamailio trunk, in the early dialog) before the callee answers. The sipp callee
 * fails its scenario if the INVITE does not say Supported: 100rel, or if no PRACK with the right
 * RAck comes: it sends no 200 until then.
 */
describe('outbound: reliable provisional responses (100rel/PRACK) through a Kamailio trunk', function () {
  this.timeout(90_000);
  let t: Trunk;
  let g: Gateway;
  let a: Api;

  before(async () => {
    ({ t, g, a } = await openTrunkRig((t) => ({
      registrations: [trunkAccount(t, 'acme', 's3cret')],
      outbound: { ringTimeoutS: 8, trunks: [{ id: 'acme', maxConcurrent: 4, callsPerSecond: 20 }] },
    })));
  });
  after(() => closeTrunkRig({ t, g }));

  it('a reliable 180 (Require: 100rel, RSeq 1) is PRACKed; the callee answers after it; DELETE sends BYE', async () => {
    const uas = await startUas('uas-100rel.xml', t.uasPort, t.mediaPort);
    try {
      const { id } = await a.answered({ to: '+15550000101', trunk: 'acme' }, 'answered after the PRACK');
      assert.equal((await a.del(id)).status, 200);
      const ended = await a.until(id, (v) => v.state === 'ended', 'ended');
      assert.equal(ended.reason, 'hangup');
      const done = await uas.done;
      assert.equal(done.code, 0, `the callee got Supported: 100rel, our PRACK, then our BYE: ${done.out.slice(-2000)}`);
      await until(() => leasesOut(g) === 0, 'leases back');
    } finally { uas.stop(); }
  });
});
