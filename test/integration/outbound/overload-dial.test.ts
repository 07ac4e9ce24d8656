import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { until } from '../../support/wait.js';
import { closeTrunkRig, openTrunkRig, startUas, trunkAccount, type TrunkRig } from './support.js';

/**
 * POST /api/calls on an overloaded gateway (its event loop made to lag on purpose): 503
 * WL_ERR_OVERLOADED with Retry-After and nothing sent; once the guard clears, the next dial is
 * placed through the trunk (Kamailio) to the sipp callee, which sees that one INVITE only.
 */
describe('outbound: POST /api/calls while the gateway is overloaded', function () {
  this.timeout(90_000);
  let rig: TrunkRig | undefined;
  let blocker: NodeJS.Timeout | undefined;

  before(async () => {
    rig = await openTrunkRig((t) => ({
      registrations: [trunkAccount(t)],
      outbound: { ringTimeoutS: 20, trunks: [{ id: 'acme', maxConcurrent: 10, callsPerSecond: 50 }] },
      calls: { overload: { maxLoopDelayMs: 200, retryAfterS: 7 } },
    }));
  });
  afterEach(() => clearInterval(blocker));
  after(() => closeTrunkRig(rig));

  it('503 WL_ERR_OVERLOADED with Retry-After while lagging, nothing sent; placed again once cleared', async () => {
    const { t, g, a } = rig!;
    const uas = await startUas('uas-ring.xml', t.uasPort, t.mediaPort, 1);
    try {
      blocker = setInterval(() => {
        const end = performance.now() + 400;
        while (performance.now() < end) { /* the event loop lags on purpose */ }
      }, 1);
      await until(() => g.overload.overloaded, 'the guard tripped', 30_000);
      const res = await fetch(`${g.opsUrl}/api/calls`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: '+15550000401', trunk: 'acme' }) });
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(res.status, 503, JSON.stringify(body));
      assert.equal(body.code, 'WL_ERR_OVERLOADED');
      assert.match(String(body.error), /overloaded: the event loop lags/);
      assert.equal(res.headers.get('retry-after'), '7');
      assert.equal(g.overload.view().refused.dial, 1);

      clearInterval(blocker);
      await until(() => !g.overload.overloaded, 'the guard cleared', 30_000);
      const next = await a.post({ to: '+15550000402', trunk: 'acme' });
      assert.equal(next.status, 201, JSON.stringify(next.body));
      const id = next.body.id as string;
      await a.until(id, (v) => v.state === 'ringing', 'ringing');
      await a.del(id);
      await a.until(id, (v) => v.state === 'ended', 'cancelled');
      assert.equal((await uas.done).code, 0, 'the callee saw one INVITE only: the refused dial sent nothing');
    } finally { uas.stop(); }
  });
});
