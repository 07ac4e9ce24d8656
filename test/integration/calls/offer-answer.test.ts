import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Gateway } from '../../../src/boot/gateway.js';
import type { CallSnapshot } from '../../../src/calls/index.js';
import type { WireRecord } from '../../../src/local/local-server.js';
import { startTestGateway, leasesOut } from '../../support/gateway.js';
import { RtpPeer } from '../../support/rtp-peer.js';
import { sipp } from '../../support/sipp.js';
import { until } from '../../support/wait.js';

const SCENARIOS = fileURLToPath(new URL('./scenarios/', import.meta.url));
const silence = (ms: number) => Buffer.alloc((ms * 8000) / 1000, 0xff);

interface Held { rtpPorts: number; pacerStreams: number; leases: number }
interface ApiCalls { active: CallSnapshot[]; recent: CallSnapshot[]; held: Held }

async function api(g: Gateway): Promise<ApiCalls> {
  return (await (await fetch(`${g.opsUrl}/api/calls`)).json()) as ApiCalls;
}

/** Everything a call took is back: RTP ports, pacer streams, leases. */
async function nothingHeld(g: Gateway): Promise<void> {
  await until(() => g.calls.activeCount === 0, 'calls released');
  await until(async () => {
    const h = (await api(g)).held;
    return h.rtpPorts === 0 && h.pacerStreams === 0 && h.leases === 0 && leasesOut(g) === 0;
  }, 'no RTP port, pacer stream or lease held');
}

/**
 * Offer/answer completeness (issue 13, item 1): sipp as a carrier sends a
 * delayed offer (RFC 3264 §5), requires or supports 100rel (RFC 3262), puts
 * X- headers, Diversion and P-Asserted-Identity in its INVITE and presses
 * keys over SIP INFO, against the whole gateway with its local upstreams.
 */
describe('calls: offer/answer completeness with sipp (delayed offer, 100rel/PRACK, call context, INFO DTMF)', function () {
  this.timeout(120_000);
  let g: Gateway;

  before(async () => {
    // sipp sends no RTP in the INFO and PRACK scenarios: the RTP timeout must outlast them on a loaded machine.
    g = await startTestGateway({ media: { rtpTimeoutMs: 5000 } });
  });
  after(async () => {
    await g?.close();
  });

  it('delayed offer, good answer in the ACK: our offer is in the 200, RTP flows both ways, the RTP timeout ends it with BYE, nothing leaks', async () => {
    const peer = await RtpPeer.bind();
    try {
      const run = sipp(g.sip, ['-sf', `${SCENARIOS}delayed-offer.xml`, '-s', '15550001000', '-key', 'rtp_port', String(peer.port), '-key', 'codecs', '0 101', '-m', '1']);
      await until(() => g.calls.view().active[0]?.codec !== undefined, 'the answer in the ACK applied');
      const call = g.calls.view().active[0]!;
      assert.equal(call.delayedOffer, true);
      assert.equal(call.codec, 'PCMU');
      assert.equal(call.remote?.port, peer.port, 'RTP goes where the answer in the ACK said');
      peer.target('127.0.0.1', call.localPort!);
      let talking = true;
      const sending = (async () => {
        while (talking) await peer.send(silence(200));
      })();
      await until(() => peer.voiced().length > 25, 'the greeting is heard as RTP');
      await until(() => (g.calls.view().active[0]?.rtp?.received ?? 0) > 20, 'the caller\'s RTP reaches the gateway');
      talking = false;
      await sending;
      const r = await run.done;
      assert.equal(r.code, 0, r.out);
      assert.equal(g.calls.view().recent[0]!.endReason, 'rtp-timeout');
      await nothingHeld(g);
    } finally {
      peer.close();
    }
  });

  it('delayed offer, answer with a codec we did not offer: we BYE at once, and the port taken for our offer is returned', async () => {
    const before = g.calls.view().totals.ended['bad-answer'] ?? 0;
    const r = await sipp(g.sip, ['-sf', `${SCENARIOS}delayed-offer.xml`, '-s', '15550001000', '-key', 'rtp_port', '40000', '-key', 'codecs', '18', '-m', '1']).done;
    assert.equal(r.code, 0, r.out);
    await nothingHeld(g);
    const c = g.calls.view().recent[0]!;
    assert.equal(c.endReason, 'bad-answer');
    assert.equal(c.delayedOffer, true);
    assert.equal(c.rtp, undefined, 'no RTP session was ever opened');
    assert.equal(g.calls.view().totals.ended['bad-answer'], before + 1);
  });

  it('delayed offer, ACK without an answer: BYE, nothing leaks', async () => {
    const r = await sipp(g.sip, ['-sf', `${SCENARIOS}delayed-offer-no-answer.xml`, '-s', '15550001000', '-m', '1']).done;
    assert.equal(r.code, 0, r.out);
    await nothingHeld(g);
    assert.equal(g.calls.view().recent[0]!.endReason, 'bad-answer');
  });

  for (const rel of ['Require', 'Supported'] as const) {
    it(`100rel in ${rel}: a reliable 180 (Require: 100rel, RSeq), PRACKed with RAck and answered 200, then the INVITE's 200; the call runs and ends with BYE`, async () => {
      const r = await sipp(g.sip, ['-sf', `${SCENARIOS}prack.xml`, '-s', '15550001000', '-key', 'rel', rel, '-mp', '0', '-d', '1000', '-m', '1']).done;
      assert.equal(r.code, 0, r.out);
      await nothingHeld(g);
      const c = g.calls.view().recent[0]!;
      assert.equal(c.endReason, 'bye');
      assert.ok(c.rtp!.sent > 10, `greeting sent as RTP (${c.rtp!.sent} packets)`);
    });
  }

  it('X- headers, Diversion and P-Asserted-Identity reach the LLM and /api/calls; INFO dtmf-relay and dtmf digits reach the agent like RFC 4733 ones', async () => {
    const wire: WireRecord[] = g.local!.llm.recordWire();
    const run = sipp(g.sip, ['-sf', `${SCENARIOS}context-info-dtmf.xml`, '-s', '15550001000', '-mp', '0', '-d', '1000', '-m', '1']);
    await until(() => g.calls.view().active.length === 1, 'the call is up');
    const live = (await api(g)).active[0]!;
    assert.deepEqual(live.context.headers, { 'X-Customer-Id': 'CUST-4242', 'X-Campaign': 'spring renewal' });
    assert.deepEqual(live.context.diversion, ['<sip:+15550009999@pbx.example.com>;reason=no-answer;counter=1']);
    // Loopback is a configured carrier (config/default.yaml sip.carriers): its assertion is believed.
    assert.deepEqual(live.context.assertedIdentity, ['"Alice Example" <sip:+15551230001@carrier.example.com>']);
    const r = await run.done;
    assert.equal(r.code, 0, r.out);
    await nothingHeld(g);
    const c = g.calls.view().recent[0]!;
    const texts = c.turns.map((t) => t.text);
    assert.ok(texts.includes('[dtmf 5]') && texts.includes('[dtmf 7]'), `turns: ${texts.join(' | ')}`);
    const bodies = wire.filter((w): w is Extract<WireRecord, { kind: 'body' }> => w.kind === 'body').map((w) => JSON.parse(w.data) as { messages: Array<{ role: string; content: unknown }> });
    assert.ok(bodies.length > 0, 'the LLM was asked (a DTMF turn)');
    const system = JSON.stringify(bodies[0]!.messages.find((m) => m.role === 'system')?.content ?? (bodies[0] as { system?: unknown }).system);
    for (const want of ['CUST-4242', 'spring renewal', '+15550009999@pbx.example.com', 'Alice Example', 'not instructions']) {
      assert.ok(system.includes(want), `the system message names ${want}: ${system}`);
    }
  });
});

describe('calls: a caller that requires 100rel and never PRACKs', function () {
  this.timeout(60_000);
  let g: Gateway;
  // T1 = 20 ms: 64·T1 is 1.28 s rather than 32 s.
  before(async () => {
    g = await startTestGateway({ sip: { timers: { t1Ms: 20, t2Ms: 4000, t4Ms: 5000 } } });
  });
  after(async () => {
    await g?.close();
  });

  it('gets its reliable 180 retransmitted for 64·T1, then 504; the refusal is counted and nothing leaks', async () => {
    const r = await sipp(g.sip, ['-sf', `${SCENARIOS}prack-never.xml`, '-s', '15550001000', '-mp', '0', '-m', '1']).done;
    assert.equal(r.code, 0, r.out);
    await nothingHeld(g);
    const v = g.calls.view();
    assert.equal(v.recent[0]!.endReason, 'prack-timeout');
    assert.ok(v.totals.refused >= 1);
  });
});
