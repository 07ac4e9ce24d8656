import assert from 'node:assert/strict';
import { freeUdpPort } from '../../support/kamailio.js';
import { freeTcpPort } from '../../support/redis-server.js';
import { startReplica, type Replica } from '../../support/replica.js';
import { until } from '../../support/wait.js';
import { carrierCalls, hostileStreams, rssMb, rssSampler, sippFlood } from '../../../bench/flood-tools.js';

const CARRIER = '127.0.0.2';

/**
 * Hostile traffic beyond the RFC (issue 14 item 3), small enough for CI: sipp floods from four
 * loopback addresses well over the per-source rate while a carrier calls, endless header blocks on
 * TCP and on the WebSocket upgrade. bench:flood runs the same at 10× the benchmark rate.
 */
describe('security: floods and hostile streams against a gateway process', function () {
  this.timeout(180_000);
  let gw: Replica;
  let wsPort = 0;
  let rssBefore = 0;
  const alive = async () => gw.child.exitCode === null && (await fetch(`${gw.url}/healthz`).then((r) => r.ok, () => false));

  before(async () => {
    wsPort = await freeTcpPort();
    gw = await startReplica({
      WARMLINE_SIP__PORT: String(await freeUdpPort()),
      WARMLINE_SIP__CARRIERS: `["${CARRIER}"]`,
      // A low per-source limit, so that a flood CI can afford still runs into it.
      WARMLINE_SIP__RATE__PERSECOND: '50', WARMLINE_SIP__RATE__BURST: '50',
      WARMLINE_SIP__WS__ENABLED: 'true', WARMLINE_SIP__WS__PORT: String(wsPort),
      WARMLINE_MEDIA__PORTMIN: '45000', WARMLINE_MEDIA__PORTMAX: '45399',
    });
    rssBefore = rssMb(gw.child.pid!);
  });
  after(() => gw?.kill());

  it('an INVITE flood from many sources is dropped before parsing past one 403 a second per source; the carrier\'s calls during it all succeed', async () => {
    const sampler = rssSampler(gw.child.pid!);
    const [flood, carrier] = await Promise.all([
      sippFlood(gw.sip, { sources: 4, rate: 600, seconds: 4, firstOctet: 20 }),
      // The carrier calls while the flood is on: once the gateway has refused some of it.
      until(async () => ((await (await fetch(`${gw.url}/api/calls`)).json()) as { totals: { refused: number } }).totals.refused > 0, 'the flood reaching the gateway', 20_000)
        .then(() => carrierCalls(gw.sip, CARRIER, 5, 2)),
    ]);
    const { peakMb } = sampler.stop();
    assert.equal(carrier.successful, 5, carrier.out.slice(-3000));
    // Each flooding source hears why once a second (403); the rest of its burst is dropped before parsing:
    // past twice the per-source rate ('rate'), or as an INVITE the carrier check would refuse ('refused').
    assert.ok((flood.responses['403'] ?? 0) > 0, `the carrier check engaged: ${JSON.stringify(flood.responses)}`);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const early = (reason: string) => Number(new RegExp(`warmline_sip_early_dropped_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
    assert.ok(early('rate') > 0 && early('refused') > 0, `early drops: rate ${early('rate')}, refused ${early('refused')}`);
    assert.ok((flood.responses['403'] ?? 0) < flood.sent / 10, `answers are the exception, not one per request: ${JSON.stringify(flood.responses)} of ${flood.sent}`);
    assert.ok(await alive());
    assert.ok(peakMb < rssBefore + 300, `RSS ${rssBefore.toFixed(0)} → peak ${peakMb.toFixed(0)} MB`);
  });

  it('endless header blocks on TCP and on the WebSocket upgrade are cut off; the gateway goes on answering', async () => {
    const tcp = await hostileStreams(gw.sip, { count: 20, mode: 'endless', seconds: 4, firstOctet: 120 });
    assert.equal(tcp.closedByPeer, tcp.opened, JSON.stringify(tcp));
    const ws = await hostileStreams({ address: '127.0.0.1', port: wsPort }, { count: 20, mode: 'endless', seconds: 4, ws: true, firstOctet: 140 });
    assert.equal(ws.closedByPeer, ws.opened, JSON.stringify(ws));
    assert.ok(await alive());
    const carrier = await carrierCalls(gw.sip, CARRIER, 2, 2);
    assert.equal(carrier.successful, 2, carrier.out.slice(-3000));
  });

  // Slow header blocks (one line a second) are cut by the transport's deadline for a whole message.
  it('slow header blocks on TCP are cut at the header deadline', async () => {
    const tcp = await hostileStreams(gw.sip, { count: 20, mode: 'slow', seconds: 15, firstOctet: 160 });
    assert.equal(tcp.stillOpen, 0, JSON.stringify(tcp));
  });
});
