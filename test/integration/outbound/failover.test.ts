import assert from 'node:assert/strict';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway, leasesOut } from '../../support/gateway.js';
import type { Dnsmasq } from '../../support/dnsmasq.js';
import { SilentTarget } from '../../support/silent-target.js';
import type { SipRequest } from '../../../sip/message/index.js';
import { freeUdpPort } from '../../support/kamailio.js';
import { until } from '../../support/wait.js';
import { api, startTrunk, startUas, trunkAccount, twoTargetDns, type Api, type Trunk } from './support.js';

/**
 * RFC 3263 §4.3 on the INVITEs we send: the trunk's proxy is a name whose SRV records list two
 * targets. The first (priority 10) is a sipp that answers 503 Service Unavailable; the call must
 * go on to the second (priority 20), the Kamailio trunk, and be answered there. A real DNS
 * server (dnsmasq) serves the records on loopback.
 */
describe('outbound: an INVITE fails over to the next RFC 3263 target on 503', function () {
  this.timeout(90_000);
  let t: Trunk;
  let dns: Dnsmasq;
  let g: Gateway;
  let a: Api;
  let outOfService: number;

  before(async () => {
    t = await startTrunk();
    outOfService = await freeUdpPort();
    dns = await twoTargetDns(outOfService, t);
    g = await startTestGateway({
      media: { rtpTimeoutMs: 0 },
      sip: { dnsServers: [dns.server] },
      // The registration goes straight to Kamailio; the INVITEs go to the name (SRV, no port).
      registrations: [trunkAccount(t)],
      outbound: { ringTimeoutS: 8, trunks: [{ id: 'acme', maxConcurrent: 4, callsPerSecond: 20, proxy: { host: 'trunk.test' } }] },
    } as Parameters<typeof startTestGateway>[0]);
    a = api(g.opsUrl);
  });
  after(async () => {
    await g?.close();
    await dns?.stop();
    await t?.kamailio.dispose();
  });

  it('the first target answers 503: the INVITE goes to the second, which answers; DELETE ends the call', async () => {
    const down = await startUas('uas-503.xml', outOfService, await freeUdpPort());
    const up = await startUas('uas-answer-wait.xml', t.uasPort, t.mediaPort);
    try {
      const { id } = await a.answered({ to: '+15550000501', trunk: 'acme' }, 'answered by the second target');
      const first = await down.done;
      assert.equal(first.code, 0, `the first target got the INVITE, answered 503 and got its ACK: ${first.out.slice(-1500)}`);
      assert.ok(dns.queries('SRV', '_sip._udp.trunk.test') >= 1, 'the targets came from the SRV records');
      assert.equal((await a.del(id)).status, 200);
      assert.equal((await a.until(id, (v) => v.state === 'ended', 'ended')).reason, 'hangup');
      assert.equal((await up.done).code, 0, 'the second target got our BYE');
      await until(() => leasesOut(g) === 0, 'every lease back');
    } finally {
      down.stop();
      up.stop();
    }
  });
});

const SDP = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40000 RTP/AVP 8', 'a=rtpmap:8 PCMA/8000', ''].join('\r\n');

/**
 * A first target that never answers (a UDP socket that takes the INVITEs in and says nothing, as
 * a host that is down or a black hole would) must be given up after outbound.targetTimeoutMs, long
 * before Timer B (32 s with T1 500 ms) and the ring timeout (8 s): the call is answered by the
 * second target. Its late responses, sent by the test once the call is answered elsewhere, must not
 * make a second call: a late 180 gets our CANCEL, a late 200 our ACK and BYE.
 */
describe('outbound: a target that sends no response at all is given up for the next one', function () {
  this.timeout(150_000);
  let t: Trunk;
  let dns: Dnsmasq;
  let g: Gateway;
  let a: Api;
  let silent: SilentTarget;
  /** The first case's silent INVITE, counted again once its transaction has ended (the last test). */
  let silentInvites: (() => number) | undefined;

  before(async () => {
    t = await startTrunk();
    silent = await SilentTarget.bind();
    dns = await twoTargetDns(silent.port, t);
    g = await startTestGateway({
      media: { rtpTimeoutMs: 0 },
      sip: { dnsServers: [dns.server] },
      registrations: [trunkAccount(t)],
      outbound: { ringTimeoutS: 8, targetTimeoutMs: 2000, trunks: [{ id: 'acme', maxConcurrent: 4, callsPerSecond: 20, proxy: { host: 'trunk.test' } }] },
    } as Parameters<typeof startTestGateway>[0]);
    a = api(g.opsUrl);
  });
  after(async () => {
    await g?.close();
    await dns?.stop();
    await t?.kamailio.dispose();
    silent?.close();
  });

  /** Dials, and asserts the call went to the silent target first and was answered by the second: the silent target's INVITE. */
  async function answeredAfterSilence(to: string): Promise<{ id: string; invite: SipRequest; sent: () => number }> {
    const before = silent.requests.length;
    const events: string[] = [];
    const seen = setInterval(() => { if (silent.requests.length > before && !events.includes('first target got the INVITE')) events.push('first target got the INVITE'); }, 5);
    try {
      const { id } = await a.answered({ to, trunk: 'acme' }, 'answered by the second target (the first never answers)');
      events.push('answered');
      assert.deepEqual(events, ['first target got the INVITE', 'answered']);
      const invites = silent.received('INVITE').filter((r) => silent.requests.indexOf(r) >= before);
      const invite = invites[0]!;
      assert.ok(invites.every((r) => r.via[0]!.params.get('branch') === invite.via[0]!.params.get('branch')), 'one INVITE and its retransmissions');
      const sent = () => silent.received('INVITE').filter((r) => r.callId === invite.callId).length;
      return { id, invite, sent };
    } finally {
      clearInterval(seen);
    }
  }

  /** What the gateway holds now (/api/calls). */
  async function heldNow(): Promise<{ active: number; leases: number; rtpPorts: number; client: number }> {
    const v = (await (await fetch(`${g.opsUrl}/api/calls`)).json()) as { active: unknown[]; held: { rtpPorts: number; leases: number; sipTransactions: { client: number } } };
    return { active: v.active.length, leases: v.held.leases, rtpPorts: v.held.rtpPorts, client: v.held.sipTransactions.client };
  }

  /**
   * Hangs the answered call up and waits until it holds no call, lease or RTP port. Its abandoned
   * INVITE's transaction may still wait out Timer B/D/M (32 s on UDP, as RFC 3261 wants): the last
   * test waits for every case's transactions at once, instead of 32 s in each.
   */
  async function hangUpAndRelease(id: string, up: Awaited<ReturnType<typeof startUas>>): Promise<void> {
    assert.equal((await a.del(id)).status, 200);
    assert.equal((await a.until(id, (v) => v.state === 'ended', 'ended')).reason, 'hangup');
    assert.equal((await up.done).code, 0, 'the second target got our BYE');
    let held: unknown;
    await until(async () => {
      const h = await heldNow();
      held = h;
      return h.active === 0 && h.leases === 0 && h.rtpPorts === 0;
    }, 'the call, its leases and its RTP port released').catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(held)}`); });
    await until(() => leasesOut(g) === 0, 'every lease back');
  }

  /**
   * One case: a callee behind the second target, a dial answered there after the silent first
   * target (answeredAfterSilence), `check` on what the first target got, then our hang-up and the
   * call's resources released.
   */
  async function throughSecondTarget(to: string, check: (answered: Awaited<ReturnType<typeof answeredAfterSilence>>) => Promise<void>): Promise<void> {
    const up = await startUas('uas-answer-wait.xml', t.uasPort, t.mediaPort);
    try {
      const answered = await answeredAfterSilence(to);
      await check(answered);
      await hangUpAndRelease(answered.id, up);
    } finally {
      up.stop();
    }
  }

  it('the first target is silent: the second answers; the first\'s INVITE was not sent again once given up; nothing is held', async () => {
    await throughSecondTarget('+15550000504', async ({ sent }) => {
      assert.ok(dns.queries('SRV', '_sip._udp.trunk.test') >= 1, 'the targets came from the SRV records');
      silentInvites = sent;
    });
  });

  it('a late 180 from the silent first target gets our CANCEL (none could go before it); the call stays with the second', async () => {
    await throughSecondTarget('+15550000502', async ({ id, invite }) => {
      // The late 180: §9.1 let us send no CANCEL before it; now the abandoned INVITE is cancelled.
      silent.respond(invite, 180, { toTag: 'late180' });
      await until(() => silent.received('CANCEL').some((c) => c.callId === invite.callId), 'our CANCEL for the late 180');
      const cancel = silent.received('CANCEL').find((c) => c.callId === invite.callId)!;
      assert.equal(cancel.via[0]!.params.get('branch'), invite.via[0]!.params.get('branch'), 'the CANCEL is for that INVITE (its branch)');
      silent.respond(cancel, 200);
      silent.respond(invite, 487, { toTag: 'late180' });
      await until(() => silent.received('ACK').some((r) => r.callId === invite.callId), 'the 487 ACKed');
      assert.equal((await a.get(id)).body.state, 'answered', 'the call stays with the second target');
    });
  });

  it('a late 200 from the silent first target is ACKed and ended with BYE; the call stays with the second', async () => {
    await throughSecondTarget('+15550000503', async ({ id, invite }) => {
      silent.respond(invite, 200, { toTag: 'late200', sdp: SDP });
      await until(() => silent.received('BYE').some((r) => r.callId === invite.callId), 'our BYE for the late 200');
      const bye = silent.received('BYE').find((r) => r.callId === invite.callId)!;
      const ack = silent.received('ACK').find((r) => r.callId === invite.callId && r.to.tag === 'late200');
      assert.ok(ack && silent.requests.indexOf(ack) < silent.requests.indexOf(bye), 'the late 200 was ACKed, before the BYE');
      assert.equal(bye.to.tag, 'late200', 'the BYE ends the late dialog');
      silent.respond(bye, 200);
      assert.equal((await a.get(id)).body.state, 'answered', 'the call stays with the second target');
    });
  });

  it('every abandoned INVITE\'s transaction ends (Timer B, D or M), and the silent one was not sent again once given up', async () => {
    let held: unknown;
    await until(async () => {
      const h = await heldNow();
      held = h;
      return h.active === 0 && h.leases === 0 && h.rtpPorts === 0 && h.client === 0;
    }, 'every client transaction ended', 45_000).catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(held)}`); });
    // Timer A would have sent it at 0, T1, 3·T1, 7·T1, ... until Timer B (now over): given up at 2 s (4·T1), it stopped at 3.
    const n = silentInvites?.() ?? 0;
    assert.ok(n >= 1 && n <= 3, `the INVITE was not retransmitted after it was given up: ${n} sent`);
  });
});
