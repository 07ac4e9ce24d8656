import assert from 'node:assert/strict';
import type { Gateway } from '../../../src/boot/gateway.js';
import { leasesOut } from '../../support/gateway.js';
import { until } from '../../support/wait.js';
import { closeTrunkRig, openTrunkRig, startUas, trunkAccount, type Api, type Trunk } from './support.js';

/**
 * Outbound calls as a user places them (POST /api/calls) through a carrier trunk: a real Kamailio
 * that challenges every INVITE for proxy credentials (407, qop=auth) and relays it, record-routed,
 * to a real sipp callee. Every outcome the API names is driven by the callee's behaviour.
 */
describe('outbound: calls through a Kamailio trunk with digest auth to a sipp callee', function () {
  this.timeout(120_000);
  let t: Trunk;
  let g: Gateway;
  let a: Api;

  const held = async () => ((await (await fetch(`${g.opsUrl}/api/calls`)).json()) as { held: { rtpPorts: number; leases: number } }).held;

  before(async () => {
    ({ t, g, a } = await openTrunkRig((t) => ({
      registrations: [
        trunkAccount(t, 'acme', 's3cret'),
        trunkAccount(t, 'wrongpw', 'not-the-password'),
      ],
      outbound: { ringTimeoutS: 3, trunks: [{ id: 'acme', maxConcurrent: 4, callsPerSecond: 20 }, { id: 'wrongpw', maxConcurrent: 4, callsPerSecond: 20 }] },
    })));
  });
  after(() => closeTrunkRig({ t, g }));
  afterEach(async () => {
    // Whatever the outcome, nothing a call took stays taken.
    await until(async () => { const h = await held(); return h.rtpPorts === 0 && h.leases === 0; }, 'ports and leases back', 15_000);
    assert.equal(leasesOut(g), 0);
  });

  it('answered: the agent speaks first, RTP flows both ways; DELETE sends BYE', async () => {
    const uas = await startUas('uas-answer-wait.xml', t.uasPort, t.mediaPort);
    try {
      const r = await a.post({ to: '+1 (555) 000-0001', trunk: 'acme', headers: { 'X-Campaign': 'spring' } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.state, 'dialing');
      assert.equal(r.body.to, 'sip:+15550000001@trunk.test');
      const id = r.body.id as string;
      const answered = await a.until(id, (v) => v.state === 'answered' || v.state === 'ended', 'answered');
      assert.equal(answered.state, 'answered', JSON.stringify(answered));
      assert.equal(answered.sipStatus, 200);
      // The agent's greeting goes out and its echo comes back (a few frames: the echo soon barges in on it).
      await a.until(id, (v) => { const rtp = v.rtp as { received: number; sent: number }; return rtp.sent >= 5 && rtp.received >= 5; }, 'RTP both ways', 35_000);
      const live = g.calls.view().active.find((c) => c.id === answered.callId);
      assert.ok(live, 'the answered call is one of the CallManager\'s calls');
      assert.equal(live.state, 'active');
      assert.equal((await a.del(id)).status, 200);
      const ended = await a.until(id, (v) => v.state === 'ended', 'ended');
      assert.equal(ended.reason, 'hangup');
      const done = await uas.done;
      assert.equal(done.code, 0, `the callee got our BYE: ${done.out.slice(-1500)}`);
    } finally { uas.stop(); }
  });

  it('the callee hangs up: its BYE ends the call as remote-hangup', async () => {
    const uas = await startUas('uas-answer-bye.xml', t.uasPort, t.mediaPort);
    try {
      const id = (await a.post({ to: '+15550000002', trunk: 'acme' })).body.id as string;
      await a.until(id, (v) => v.state === 'answered', 'answered');
      const ended = await a.until(id, (v) => v.state === 'ended', 'the callee hangs up');
      assert.equal(ended.reason, 'remote-hangup');
      assert.ok((ended.rtp as { received: number }).received > 10, 'the callee\'s audio came in');
      const snap = g.calls.view().recent.find((c) => c.id === ended.callId);
      assert.equal(snap?.endReason, 'bye');
      assert.equal((await uas.done).code, 0);
    } finally { uas.stop(); }
  });

  it('busy: 486 ends the call as busy, with the SIP status', async () => {
    const uas = await startUas('uas-busy.xml', t.uasPort, t.mediaPort);
    try {
      const id = (await a.post({ to: 'sip:+15550000003@trunk.test', trunk: 'acme' })).body.id as string;
      const ended = await a.until(id, (v) => v.state === 'ended', 'ended');
      assert.equal(ended.reason, 'busy');
      assert.equal(ended.sipStatus, 486);
      assert.equal((await uas.done).code, 0);
    } finally { uas.stop(); }
  });

  it('no answer: the ringing timeout sends CANCEL, the INVITE ends 487 and the call as no-answer', async () => {
    const uas = await startUas('uas-ring.xml', t.uasPort, t.mediaPort);
    try {
      const id = (await a.post({ to: '+15550000004', trunk: 'acme' })).body.id as string;
      await a.until(id, (v) => v.state === 'ringing', 'ringing');
      const ended = await a.until(id, (v) => v.state === 'ended', 'ended after the ringing timeout');
      assert.equal(ended.reason, 'no-answer');
      assert.equal(ended.sipStatus, 487);
      const done = await uas.done;
      assert.equal(done.code, 0, `the callee got CANCEL and the ACK of its 487: ${done.out.slice(-1500)}`);
    } finally { uas.stop(); }
  });

  it('DELETE while ringing sends CANCEL: the call ends as cancelled', async () => {
    const uas = await startUas('uas-ring.xml', t.uasPort, t.mediaPort);
    try {
      const id = (await a.post({ to: '+15550000005', trunk: 'acme' })).body.id as string;
      await a.until(id, (v) => v.state === 'ringing', 'ringing');
      assert.equal((await a.del(id)).status, 200);
      const ended = await a.until(id, (v) => v.state === 'ended', 'ended');
      assert.equal(ended.reason, 'cancelled');
      assert.equal(ended.sipStatus, 487);
      assert.equal((await uas.done).code, 0);
    } finally { uas.stop(); }
  });

  it('the 487/200 race: a 200 that crosses our CANCEL is ACKed and ended with BYE', async () => {
    const uas = await startUas('uas-race.xml', t.uasPort, t.mediaPort);
    try {
      const id = (await a.post({ to: '+15550000009', trunk: 'acme' })).body.id as string;
      await a.until(id, (v) => v.state === 'ringing', 'ringing');
      await a.del(id);
      const ended = await a.until(id, (v) => v.state === 'ended', 'ended');
      assert.equal(ended.reason, 'cancelled');
      assert.equal(ended.answeredAt, undefined, 'never handed to an agent');
      const done = await uas.done;
      assert.equal(done.code, 0, `the callee got the ACK of its 200 and then our BYE: ${done.out.slice(-1500)}`);
    } finally { uas.stop(); }
  });

  it('183 with SDP: early media flows before the answer', async () => {
    const uas = await startUas('uas-early.xml', t.uasPort, t.mediaPort);
    try {
      const id = (await a.post({ to: '+15550000006', trunk: 'acme' })).body.id as string;
      const early = await a.until(id, (v) => v.state === 'early' && ((v.rtp as { received: number } | undefined)?.received ?? 0) > 5, 'early media received');
      assert.equal(early.answeredAt, undefined);
      await a.until(id, (v) => v.state === 'answered', 'answered');
      await a.del(id);
      const ended = await a.until(id, (v) => v.state === 'ended', 'ended');
      assert.equal(ended.reason, 'hangup');
      assert.equal((await uas.done).code, 0);
    } finally { uas.stop(); }
  });

  it('a wrong password: the trunk challenges again and the call ends auth-failed (407)', async () => {
    const id = (await a.post({ to: '+15550000007', trunk: 'wrongpw' })).body.id as string;
    const ended = await a.until(id, (v) => v.state === 'ended', 'ended');
    assert.equal(ended.reason, 'auth-failed');
    assert.equal(ended.sipStatus, 407);
  });

  it('bad requests get a 400 that says what is wrong; nothing is sent', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ trunk: 'acme' }, /'to' is required/],
      [{ to: 'not a number', trunk: 'acme' }, /E\.164/],
      [{ to: '+15550000008', trunk: 'nope' }, /one of outbound\.trunks \(acme, wrongpw\)/],
      [{ to: '+15550000008', trunk: 'acme', headers: { Via: 'x' } }, /X-/],
      [{ to: '+15550000008', trunk: 'acme', headers: { 'X-A': 'a\r\nInjected: 1' } }, /one line/],
      [{ to: '+15550000008', trunk: 'acme', agent: 'ghost' }, /one of agents/],
      [{ to: '+15550000008', trunk: 'acme', when: 'now' }, /unknown field/],
      [{ to: 'sip:a@b>;x', trunk: 'acme' }, /sip: URI/],
    ];
    for (const [body, msg] of cases) {
      const r = await a.post(body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(String(r.body.error), msg);
    }
    assert.equal((await a.get('00000000-0000-0000-0000-000000000000')).status, 404);
  });
});
