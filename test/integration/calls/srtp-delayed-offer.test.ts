import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Gateway } from '../../../src/boot/gateway.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { freeUdpPort } from '../../support/kamailio.js';
import { sipp } from '../../support/sipp.js';
import { until } from '../../support/wait.js';

const SCENARIOS = fileURLToPath(new URL('./scenarios/', import.meta.url));

/**
 * SRTP on our delayed-offer offer: a source whose media.srtp policy is `required` gets RTP/SAVP with
 * a=crypto in our 200, and the answer in its ACK is read with the keys we offered. sipp answers with
 * our own key, so its plain -rtp_echo returns packets the gateway can authenticate: RTP received
 * (and none dropped as unauthenticated) means the media runs as SRTP with the negotiated keys.
 */
describe('calls: delayed offer from a source whose SRTP policy is required', function () {
  this.timeout(90_000);
  let g: Gateway;
  before(async () => {
    g = await startTestGateway({ media: { rtpTimeoutMs: 0, srtp: { trunks: [{ source: '127.0.0.1', policy: 'required' }] } } });
  });
  after(async () => { await g?.close(); });

  it('our 200 offers RTP/SAVP with a=crypto; the ACK\'s answer keys the media; SRTP goes out and comes back authenticated', async () => {
    const mediaPort = await freeUdpPort();
    const run = sipp(g.sip, ['-sf', `${SCENARIOS}delayed-offer-srtp.xml`, '-s', '15550001000', '-mp', String(mediaPort), '-rtp_echo', '-m', '1']);
    try {
      await until(() => g.calls.view().active[0]?.codec !== undefined, 'the answer in the ACK applied');
      const id = g.calls.view().active[0]!.id;
      await until(() => { const s = g.calls.find(id)?.snapshot().rtp; return (s?.sent ?? 0) >= 5 && (s?.received ?? 0) >= 5; }, 'SRTP out and back', 35_000);
      const s = g.calls.find(id)!.snapshot();
      assert.equal(s.delayedOffer, true);
      assert.equal(s.rtp?.dropped.srtpAuth ?? 0, 0, 'nothing failed authentication');
      g.calls.hangup(id);
      const r = await run.done;
      assert.equal(r.code, 0, `sipp saw RTP/SAVP and a=crypto in our 200: ${r.out.slice(-2000)}`);
      await until(() => leasesOut(g) === 0 && g.calls.view().active.length === 0, 'released');
    } finally {
      run.child.kill();
    }
  });
});
