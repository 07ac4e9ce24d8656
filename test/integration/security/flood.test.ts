import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kamailio, freeUdpPort } from '../../support/kamailio.js';
import { freeTcpPort } from '../../support/redis-server.js';
import { startReplica, type Replica } from '../../support/replica.js';
import { until } from '../../support/wait.js';
import { carrierCalls, hostileStreams, rssMb, rssSampler, sippFlood } from '../../../bench/flood-tools.js';
import { mediaBase } from './peers.js';

const CARRIER = '127.0.0.2';

/**
 * Hostile traffic beyond the RFC (issue 14 item 3), small enough for CI: sipp floods from four
 * loopback addresses well over the per-source rate while a carrier calls, endless header blocks on
 * TCP and on the WebSocket upgrade. bench:flood runs the same at 10× the benchmark rate.
 */
describe('security: floods and hostile streams against a gateway process', function () {
  // Each sipp run gives up on its own well inside this (the flood's seconds + 10, the carrier's 30 s).
  this.timeout(90_000);
  let gw: Replica;
  let wsPort = 0;
  let rssBefore = 0;
  const alive = async () => gw.child.exitCode === null && (await fetch(`${gw.url}/healthz`).then((r) => r.ok, () => false));

  before(async () => {
    wsPort = await freeTcpPort();
    const media = mediaBase(400);
    gw = await startReplica({
      WARMLINE_SIP__PORT: String(await freeUdpPort()),
      WARMLINE_SIP__CARRIERS: `["${CARRIER}"]`,
      // A low per-source limit, so that a flood CI can afford still runs into it.
      WARMLINE_SIP__RATE__PERSECOND: '50', WARMLINE_SIP__RATE__BURST: '50',
      WARMLINE_SIP__WS__ENABLED: 'true', WARMLINE_SIP__WS__PORT: String(wsPort),
      WARMLINE_MEDIA__PORTMIN: String(media), WARMLINE_MEDIA__PORTMAX: String(media + 399),
    });
    rssBefore = rssMb(gw.child.pid!);
  });
  after(() => gw?.kill());

  it('an INVITE flood from many sources is dropped before parsing past one 403 a second per source; the carrier\'s calls during it all succeed', async () => {
    const sampler = rssSampler(gw.child.pid!);
    const [flood, carrier] = await Promise.all([
      sippFlood(gw.sip, { sources: 4, rate: 600, seconds: 4, firstOctet: 20, timeoutS: 14 }),
      // The carrier calls while the flood is on: once the gateway has refused some of it.
      until(async () => ((await (await fetch(`${gw.url}/api/calls`)).json()) as { totals: { refused: number } }).totals.refused > 0, 'the flood reaching the gateway', 20_000)
        .then(() => carrierCalls(gw.sip, CARRIER, 5, 2, 500, 30)),
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
    const carrier = await carrierCalls(gw.sip, CARRIER, 2, 2, 500, 30);
    assert.equal(carrier.successful, 2, carrier.out.slice(-3000));
  });

  // Slow header blocks (one line a second) are cut by the transport's deadline for a whole message.
  it('slow header blocks on TCP are cut at the header deadline', async () => {
    const tcp = await hostileStreams(gw.sip, { count: 20, mode: 'slow', seconds: 15, firstOctet: 160 });
    assert.equal(tcp.stillOpen, 0, JSON.stringify(tcp));
  });
});

/**
 * The same through the balancer as deployed (config/kamailio/dispatcher.cfg, two replicas): a
 * flood from ten non-carrier addresses on its public socket must not cost the carrier its calls. Before the
 * replica-side socket the replicas' answers and the dispatcher's probes queued behind the flood
 * (408s, 503 "No replica available"); before the ACL-first drop every flood INVITE under pike's
 * threshold was answered 403 and logged.
 */
describe('security: a flood through the balancer', function () {
  // The flood's sipp gives up after 14 s, the carrier's after 30 s: the test is bounded well inside this.
  this.timeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), 'wl-flood-lb-'));
  const replicas: Replica[] = [];
  let lb: Kamailio;

  before(async () => {
    // Two replicas, as deployed: a call one of them refuses for a moment (503) moves to the other.
    const first = mediaBase(400);
    for (const base of [first, first + 200]) {
      replicas.push(await startReplica({
        WARMLINE_SIP__PORT: String(await freeUdpPort()),
        WARMLINE_SIP__CARRIERS: `["${CARRIER}"]`,
        WARMLINE_SIP__BALANCERS: '["127.0.0.1"]',
        WARMLINE_MEDIA__PORTMIN: String(base), WARMLINE_MEDIA__PORTMAX: String(base + 199),
      }));
    }
    writeFileSync(join(dir, 'dispatcher.list'), replicas.map((r) => `1 sip:${r.sip.address}:${r.sip.port};transport=udp 0 0\n`).join(''));
    // 127.0.0.1: the harness's readiness ping.
    writeFileSync(join(dir, 'carriers.list'), `1 ${CARRIER} 32 0 carrier\n1 127.0.0.1 32 0 harness\n`);
    const port = await freeUdpPort();
    lb = new Kamailio({ port, script: { file: fileURLToPath(new URL('../../../config/kamailio/dispatcher.cfg', import.meta.url)), defines: {
      LB_ADDR: `127.0.0.1:${port}`, DS_LIST: `"${join(dir, 'dispatcher.list')}"`, CARRIERS_LIST: `"${join(dir, 'carriers.list')}"`, PROBE_S: '1',
    } } });
    await lb.start();
  });
  after(async () => {
    for (const r of replicas) r.kill();
    await lb?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ten flooding sources get one 403 each and silence, the replicas see none of it, and the carrier\'s calls during the flood all succeed', async () => {
    const target = { address: '127.0.0.1', port: lb.port };
    const sources = 10;
    const t0 = Date.now();
    const linesBefore = lb.log.match(/is not a carrier/g)?.length ?? 0;
    const [flood, carrier] = await Promise.all([
      sippFlood(target, { sources, rate: 2000, seconds: 4, firstOctet: 30, timeoutS: 14 }),
      // The carrier calls once the flood has reached the balancer.
      until(() => /acl: 127\.0\.0\.3\d is not a carrier/.test(lb.log), 'the flood reaching the balancer', 20_000)
        .then(() => carrierCalls(target, CARRIER, 5, 2, 500, 30)),
    ]);
    const seconds = Math.floor(Date.now() / 1000) - Math.floor(t0 / 1000) + 1;
    // sipp's first errors (what the calls got instead) come first in its output, its tally last.
    assert.equal(carrier.successful, 5, `${carrier.out.slice(0, 2000)}\n…\n${carrier.out.slice(-2500)}`);
    // One 403 per source and REFUSE_S window (10 s; the flood's ~7 s may straddle a window's end):
    // everything else dropped unanswered.
    assert.ok((flood.responses['403'] ?? 0) <= 2 * sources, `answers: ${JSON.stringify(flood.responses)} of ${flood.sent}`);
    assert.ok((flood.responses['403'] ?? 0) > 0, 'a stranger still hears why once');
    // Nothing per datagram or per source in the balancer's log: a line a second at most, with the counts.
    assert.ok((lb.log.match(/is not a carrier/g)?.length ?? 0) - linesBefore <= seconds, 'the ACL logs a line a second, not each datagram');
    assert.match(lb.log, /the second before: [1-9]\d* requests from non-carriers/);
    const totals = await Promise.all(replicas.map(async (r) => ((await (await fetch(`${r.url}/api/calls`)).json()) as { totals: { answered: number; refused: number } }).totals));
    assert.deepEqual(totals.map((x) => x.refused), [0, 0], 'no flood INVITE reached a replica');
    assert.ok(totals.reduce((n, x) => n + x.answered, 0) >= 5);
  });
});
