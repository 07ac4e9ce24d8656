import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { alawToUlaw, ulawToAlaw } from '../../../media/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import type { CallSnapshot } from '../../../src/calls/index.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { RtpPeer } from '../../support/rtp-peer.js';
import { sipp } from '../../support/sipp.js';
import { until } from '../../support/wait.js';
import type { Dnsmasq } from '../../support/dnsmasq.js';
import { freeUdpPort } from '../../support/kamailio.js';
import { SilentTarget } from '../../support/silent-target.js';
import { startTrunk, startUas, trunkAccount, twoTargetDns, type Trunk } from '../outbound/support.js';

const SCENARIOS = fileURLToPath(new URL('./scenarios/', import.meta.url));
const TARGET_URI = 'sip:+15550002000@trunk.test';

interface Held { rtpPorts: number; pacerStreams: number; leases: number; sipTransactions: { client: number; server: number } }

type Config = Parameters<typeof startTestGateway>[0];

/** A gateway whose transfer fallback dials front-desk through the trunk `acme` (`extra` on top: DNS, the trunk's proxy). */
function gatewayFor(t: Trunk, extra: { sip?: Record<string, unknown>; proxy?: { host: string }; targetTimeoutMs?: number } = {}): Promise<Gateway> {
  return startTestGateway({
    media: { rtpTimeoutMs: 30_000 },
    ...(extra.sip && { sip: extra.sip }),
    agents: { receptionist: { tools: ['lookup_caller', 'book_appointment', 'transfer_call'] } },
    registrations: [trunkAccount(t, 'acme', 's3cret')],
    outbound: { ringTimeoutS: 5, ...(extra.targetTimeoutMs && { targetTimeoutMs: extra.targetTimeoutMs }), trunks: [{ id: 'acme', maxConcurrent: 4, callsPerSecond: 20, ...(extra.proxy && { proxy: extra.proxy }) }] },
    transfer: { notifyTimeoutMs: 1500, answerTimeoutMs: 5000, fallback: true, trunk: 'acme', targets: [{ name: 'front-desk', uri: TARGET_URI, agents: ['receptionist'] }] },
  } as Config);
}

/**
 * A carrier's call (sipp, refusing REFER) transferred to front-desk: the target (a sipp callee
 * behind the trunk's Kamailio, echoing RTP) is dialed and bridged; RTP flows both ways; the
 * agent's leases are back; hanging the caller up ends both legs and releases everything.
 */
/**
 * Waits for the call's resources (calls, leases, RTP ports, pacer streams), not for the client
 * transactions: the INVITE the trunk challenged keeps Timer D (32 s on UDP), and that a completed
 * INVITE transaction ends on it is checked once, in test/integration/outbound/failover.test.ts.
 */
async function bridgedThroughTrunk(g: Gateway, t: Trunk): Promise<void> {
  const uas = await startUas('uas-answer-wait.xml', t.uasPort, t.mediaPort);
  const phone = await RtpPeer.bind();
  const carrier = sipp(g.sip, ['-sf', `${SCENARIOS}refer-refuse.xml`, '-s', '15550001000', '-key', 'rtp_port', String(phone.port), '-m', '1']);
  try {
    await until(() => g.calls.view().active[0]?.localPort !== undefined, 'the carrier\'s call answered');
    const call = g.calls.view().active[0]!;
    phone.target('127.0.0.1', call.localPort!);
    await until(() => (g.calls.find(call.id)?.snapshot().turns.length ?? 0) >= 1, 'greeting finished', 30_000);
    assert.ok(leasesOut(g) >= 1, 'the agent holds its ASR socket');

    const res = await fetch(`${g.opsUrl}/api/calls/${call.id}/transfer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ target: 'front-desk' }) });
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body, { ok: true, via: 'bridge', target: 'front-desk' });
    const live = g.calls.find(call.id)!;
    assert.equal(live.state, 'active', 'the caller is still on the line, now with the target');
    assert.equal(live.leasesHeld, 0, 'the agent left: its leases are back');
    assert.equal(leasesOut(g), 0, 'no pool has any lease out');
    const view = (await (await fetch(`${g.opsUrl}/api/calls`)).json()) as { active: CallSnapshot[]; held: Held };
    assert.deepEqual(view.active[0]?.transfer, { target: 'front-desk', state: 'bridged' });
    assert.equal(view.held.pacerStreams, 0, 'neither the agent\'s playout nor the target\'s leg is in the pacer');
    assert.equal(view.held.rtpPorts, 2, 'the caller\'s port and the target leg\'s');

    // The caller's µ-law goes to the target (which answered PCMA) as A-law, is echoed by it, and comes back as µ-law.
    const back = alawToUlaw(ulawToAlaw(Buffer.alloc(1, 0x25)))[0]!;
    const from = phone.received.length;
    await phone.send(Buffer.alloc(160 * 25, 0x25));
    await until(() => phone.received.slice(from).filter((p) => p.payloadType === 0 && p.payload.every((b) => b === back)).length >= 5, 'the caller\'s audio went to the target and back', 15_000);

    // Hanging the caller up ends the target's leg too (our BYE to the callee through the trunk).
    g.calls.hangup(call.id);
    const target = await uas.done;
    assert.equal(target.code, 0, `the target got the INVITE through the trunk and our BYE: ${target.out.slice(-1500)}`);
    const caller = await carrier.done;
    assert.equal(caller.code, 0, caller.out.slice(-1500));
    let held: Held | undefined;
    await until(async () => {
      const v = (await (await fetch(`${g.opsUrl}/api/calls`)).json()) as { active: unknown[]; held: Held };
      held = v.held;
      return v.active.length === 0 && v.held.leases === 0 && v.held.rtpPorts === 0 && v.held.pacerStreams === 0;
    }, 'the calls, leases, RTP ports and pacer streams released', 45_000).catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(held)}`); });
    assert.equal(g.calls.view().recent.find((c) => c.id === call.id)?.endReason, 'hangup', 'ended by our hang-up, after the transfer');
  } finally {
    uas.stop();
    carrier.child.kill();
    phone.close();
  }
}

/**
 * The transfer fallback through real outbound dialing: the carrier (sipp) refuses REFER, so the
 * gateway dials the target itself through its trunk (a Kamailio that challenges the INVITE for
 * proxy credentials) to a sipp callee that echoes RTP, and bridges the two legs.
 */
describe('transfer: the fallback dials the target through the outbound trunk (Kamailio + sipp)', function () {
  this.timeout(120_000);
  let t: Trunk;
  let g: Gateway;

  before(async () => {
    t = await startTrunk();
    g = await gatewayFor(t);
  });
  after(async () => {
    await g?.close();
    await t?.kamailio.dispose();
  });

  it('REFER refused: the target is dialed through the trunk and bridged; RTP both ways; the agent\'s leases are back; hanging up ends both legs', async () => {
    await bridgedThroughTrunk(g, t);
  });
});

/**
 * RFC 3263 §4.3 on the fallback's leg, as on an outbound dial (test/integration/outbound/failover.test.ts):
 * the trunk's proxy is a name whose SRV records (on a real dnsmasq) list a sipp answering 503 first
 * and the Kamailio trunk second. The leg must go on to the second and the caller be bridged there.
 */
describe('transfer: the fallback\'s leg fails over to the next RFC 3263 target', function () {
  this.timeout(120_000);
  let t: Trunk;
  let dns: Dnsmasq;
  let g: Gateway;
  let outOfService: number;

  before(async () => {
    t = await startTrunk();
    outOfService = await freeUdpPort();
    dns = await twoTargetDns(outOfService, t);
    // The registration goes straight to Kamailio; the leg's INVITE goes to the name (SRV, no port).
    g = await gatewayFor(t, { sip: { dnsServers: [dns.server] }, proxy: { host: 'trunk.test' } });
  });
  after(async () => {
    await g?.close();
    await dns?.stop();
    await t?.kamailio.dispose();
  });

  it('the first target answers 503: the leg goes to the second, which answers, and the caller is bridged to it', async () => {
    const down = await startUas('uas-503.xml', outOfService, await freeUdpPort());
    try {
      await bridgedThroughTrunk(g, t);
      const first = await down.done;
      assert.equal(first.code, 0, `the first target got the leg's INVITE, answered 503 and got its ACK: ${first.out.slice(-1500)}`);
      assert.ok(dns.queries('SRV', '_sip._udp.trunk.test') >= 1, 'the targets came from the SRV records');
    } finally {
      down.stop();
    }
  });
});

/**
 * The fallback's leg and a first target that sends no response at all (a UDP socket that takes the
 * INVITEs in and never answers): given up after outbound.targetTimeoutMs, well within the
 * transfer's answerTimeoutMs (5 s, which comes long before Timer B's 32 s), so the leg reaches the
 * Kamailio trunk and the caller is bridged there; everything is released afterwards (the
 * abandoned INVITE's transaction included, at Timer B).
 */
describe('transfer: the fallback\'s leg gives a silent RFC 3263 target up for the next one', function () {
  this.timeout(150_000);
  let t: Trunk;
  let dns: Dnsmasq;
  let g: Gateway;
  let silent: SilentTarget;

  before(async () => {
    t = await startTrunk();
    silent = await SilentTarget.bind();
    dns = await twoTargetDns(silent.port, t);
    g = await gatewayFor(t, { sip: { dnsServers: [dns.server] }, proxy: { host: 'trunk.test' }, targetTimeoutMs: 1200 });
  });
  after(async () => {
    await g?.close();
    await dns?.stop();
    await t?.kamailio.dispose();
    silent?.close();
  });

  it('the first target never answers: the leg goes to the second, which answers, and the caller is bridged to it', async () => {
    await bridgedThroughTrunk(g, t);
    const invites = silent.received('INVITE');
    assert.ok(invites.length >= 1, 'the silent first target got the leg\'s INVITE');
    // Timer A: at 0 and T1 (500 ms) before it was given up at 1.2 s; not at 3·T1, 7·T1, ... after (the bridged call lasts seconds).
    assert.ok(invites.length <= 2 && invites.every((r) => r.callId === invites[0]!.callId), `one INVITE, not sent again once given up: ${invites.length}`);
    assert.equal(silent.received('CANCEL').length, 0, 'no CANCEL: it never sent a provisional response (§9.1)');
  });
});
