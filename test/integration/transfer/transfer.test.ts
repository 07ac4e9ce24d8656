import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ulawToAlaw } from '../../../media/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import type { CallSnapshot } from '../../../src/calls/index.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { RtpPeer } from '../../support/rtp-peer.js';
import { sipp, type SippRun } from '../../support/sipp.js';
import { until } from '../../support/wait.js';
import { TestDialer } from './test-dialer.js';

const SCENARIOS = fileURLToPath(new URL('./scenarios/', import.meta.url));
const TARGET_URI = 'sip:+15550002000@127.0.0.1';
const config = {
  media: { rtpTimeoutMs: 30_000 },
  // Short waits the tests would otherwise spend on every call: a one-word greeting (each test waits
  // for it to end) and T4 of 0.5 s (a BYE's client transaction lingers T4 before it is released).
  sip: { timers: { t4Ms: 500 } },
  agents: { receptionist: { greeting: 'Hello.', tools: ['lookup_caller', 'book_appointment', 'transfer_call'] as Array<'lookup_caller' | 'book_appointment' | 'transfer_call'> } },
  transfer: {
    notifyTimeoutMs: 1500, answerTimeoutMs: 3000, fallback: true,
    targets: [{ name: 'front-desk', uri: TARGET_URI, agents: ['receptionist'] }, { name: 'sales', uri: 'sip:+15550003000@127.0.0.1', agents: ['other-agent'] }],
  },
};

let runs = 0;
const cleanups: Array<() => void> = [];

interface Held { rtpPorts: number; pacerStreams: number; leases: number; sipTransactions: { client: number; server: number } }

/** The carrier's call with its media played by a real UDP phone. */
async function carrierCall(g: Gateway, scenario: string): Promise<{ run: SippRun; phone: RtpPeer; call: CallSnapshot }> {
  const phone = await RtpPeer.bind();
  const log = join(tmpdir(), `wl-transfer-${process.pid}-${++runs}.log`);
  const sippRun = sipp(g.sip, ['-sf', `${SCENARIOS}${scenario}`, '-s', '15550001000', '-key', 'rtp_port', String(phone.port), '-m', '1', '-trace_logs', '-log_file', log]);
  // The scenario logs the Refer-To it was sent (its <log> action): read with sipp's own output.
  const run: SippRun = { child: sippRun.child, done: sippRun.done.then(({ code, out }) => ({ code, out: `${out}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}` })).finally(() => rmSync(log, { force: true })) };
  const known = new Set(g.calls.view().active.map((c) => c.id));
  const mine = () => g.calls.view().active.find((c) => !known.has(c.id));
  await until(() => mine()?.localPort !== undefined, 'call answered').catch(async (err: Error) => { run.child.kill(); throw new Error(`${err.message}: ${(await run.done).out.slice(-2000)}`); });
  const call = mine()!;
  phone.target('127.0.0.1', call.localPort!);
  // The greeting is over before the test acts: a transfer mid-greeting is not what is tested.
  await until(() => (g.calls.find(call.id)?.snapshot().turns.length ?? 0) >= 1, 'greeting finished', 30_000);
  // A failed assertion must not leave this call (and its sipp) to the next test.
  cleanups.push(() => { g.calls.hangup(call.id); run.child.kill(); phone.close(); });
  return { run, phone, call };
}

async function transferApi(g: Gateway, id: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${g.opsUrl}/api/calls/${encodeURIComponent(id)}/transfer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Nothing a call held is still held: leases, RTP ports, pacer streams, client transactions. */
async function settled(g: Gateway, what: string): Promise<void> {
  let held: Held | undefined;
  await until(async () => {
    const v = (await (await fetch(`${g.opsUrl}/api/calls`)).json()) as { active: unknown[]; held: Held };
    held = v.held;
    return v.active.length === 0 && held.leases === 0 && held.rtpPorts === 0 && held.pacerStreams === 0 && held.sipTransactions.client === 0;
  }, `${what}: everything released (last: ${JSON.stringify(held)})`, 20_000);
}

function ended(g: Gateway, id: string): CallSnapshot | undefined {
  return g.calls.view().recent.find((c) => c.id === id);
}

describe('transfer: to a person, against sipp carriers', function () {
  this.timeout(120_000);
  afterEach(() => { for (const c of cleanups.splice(0)) c(); });

  describe('REFER only (no outbound dialer)', () => {
    let g: Gateway;
    before(async () => { g = await startTestGateway(config); });
    after(async () => { await g?.close(); });

    it('(a) the agent calls transfer_call: REFER, 202, NOTIFY 100 then 200: the agent leaves, the gateway BYEs, nothing leaks', async () => {
      const { run, phone, call } = await carrierCall(g, 'refer-accept.xml');
      try {
        // 0 on the keypad asks the local model for a person: it calls transfer_call("front-desk").
        await phone.dtmf('0');
        const { code, out } = await run.done;
        assert.equal(code, 0, out.slice(-3000));
        assert.match(out, new RegExp(`REFER to ${TARGET_URI.replace(/[.+]/g, '\\$&')}`), 'Refer-To is the allowlisted URI');
        await until(() => ended(g, call.id) !== undefined, 'the call ended');
        const done = ended(g, call.id)!;
        assert.equal(done.endReason, 'transferred');
        assert.deepEqual(done.transfer, { target: 'front-desk', state: 'transferred' });
        assert.ok(done.transcript.some((t) => t.from === 'agent' && /Connecting you now/.test(t.text)), `the agent said its line first: ${JSON.stringify(done.transcript)}`);
        await settled(g, 'after REFER');
      } finally {
        cleanups.splice(0).forEach((c) => c());
      }
    });

    it('(a) the carrier hangs up after accepting the REFER, before a final NOTIFY: the transfer counts as done', async () => {
      const { run, call } = await carrierCall(g, 'refer-accept-bye.xml');
      try {
        const r = await transferApi(g, call.id, { target: 'front-desk' });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(r.body, { ok: true, via: 'refer', target: 'front-desk' });
        const { code, out } = await run.done;
        assert.equal(code, 0, out.slice(-3000));
      } finally {
        cleanups.splice(0).forEach((c) => c());
      }
      await settled(g, 'after the carrier\'s BYE');
    });

    it('refuses a target off the allowlist, an unknown call and a bad body, sending nothing', async () => {
      const { run, call } = await carrierCall(g, 'refer-refuse.xml');
      try {
        const off = await transferApi(g, call.id, { target: 'sales' });
        assert.equal(off.status, 403);
        assert.equal(off.body.code, 'WL_ERR_TRANSFER_TARGET');
        const raw = await transferApi(g, call.id, { target: 'sip:+19005550100@premium.example' });
        assert.equal(raw.status, 403, 'a URI of its own choosing is not a target');
        assert.equal((await transferApi(g, 'no-such-call', { target: 'front-desk' })).status, 404);
        assert.equal((await transferApi(g, call.id, { to: 'front-desk' })).status, 400);
        assert.equal(g.calls.find(call.id)?.state, 'active', 'the call goes on');
        assert.ok(g.calls.hangup(call.id));
        const { code, out } = await run.done;
        assert.doesNotMatch(out, /REFER to/, 'no REFER was sent');
        assert.notEqual(code, 0, 'sipp waited for a REFER that never came'); // the scenario expects one
      } finally {
        cleanups.splice(0).forEach((c) => c());
      }
      await settled(g, 'after refusals');
    });

    for (const [scenario, what, why] of [
      ['refer-refuse.xml', '(b) REFER refused with 603', /refused: REFER answered 603/],
      ['refer-busy.xml', '(c) NOTIFY 486 Busy Here', /target-failed: the transfer target answered 486 Busy Here/],
      ['refer-silent.xml', '(d) no NOTIFY at all', /no-notify: no NOTIFY within 1500 ms/],
      ['refer-odd-notify.xml', 'a NOTIFY of another package (489), then the subscription ended on 100 Trying', /subscription-ended: the refer subscription ended \(timeout\)/],
    ] as const) {
      it(`${what}: transfer-failed, the call stays with its agent, which is told; nothing leaks`, async () => {
        const { run, call } = await carrierCall(g, scenario);
        try {
          const r = await transferApi(g, call.id, { target: 'front-desk' });
          assert.equal(r.status, 502, JSON.stringify(r.body));
          assert.equal(r.body.ok, false);
          assert.equal(r.body.code, 'transfer-failed');
          assert.match(String(r.body.refer), why);
          assert.match(String(r.body.fallback), /no outbound dialer/);
          const live = g.calls.find(call.id);
          assert.equal(live?.state, 'active', 'the call goes on');
          assert.equal(live.snapshot().transfer?.state, 'failed');
          assert.ok(live.leasesHeld >= 1, 'the agent still holds its ASR socket');
          await until(() => (g.calls.find(call.id)?.snapshot().transcript ?? []).some((t) => /couldn't connect you/.test(t.text)), 'the agent tells the caller', 30_000);
          assert.ok(g.calls.hangup(call.id));
          const { code, out } = await run.done;
          assert.equal(code, 0, out.slice(-3000));
        } finally {
          cleanups.splice(0).forEach((c) => c());
        }
        await settled(g, what);
      });
    }

    it('refuses a REFER from the carrier with 603 and a NOTIFY with no subscription with 481', async () => {
      const phone = await RtpPeer.bind();
      try {
        // The scenario expects exactly 603 to its REFER and 481 to its NOTIFY: sipp exits 0 only then.
        const { code, out } = await sipp(g.sip, ['-sf', `${SCENARIOS}carrier-refers.xml`, '-s', '15550001000', '-key', 'rtp_port', String(phone.port), '-m', '1']).done;
        assert.equal(code, 0, out.slice(-3000));
      } finally {
        phone.close();
      }
      await settled(g, 'after the carrier\'s REFER');
    });
  });

  describe('fallback: the gateway dials the target and bridges', () => {
    let g: Gateway;
    const dialer = new TestDialer(46000 + ((process.pid * 11) % 1000) * 2);
    before(async () => { g = await startTestGateway(config, { dialer }); });
    after(async () => { await g?.close(); });

    it('(b) REFER refused: the target answers, the legs are bridged (PCMU caller, PCMA target), the agent\'s leases are back at once', async () => {
      const { run, phone, call } = await carrierCall(g, 'refer-refuse.xml');
      try {
        assert.ok(leasesOut(g) >= 1, 'the agent holds its ASR socket');
        const r = await transferApi(g, call.id, { target: 'front-desk' });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(r.body, { ok: true, via: 'bridge', target: 'front-desk' });
        assert.equal(dialer.dialed[0]?.target, TARGET_URI);
        assert.deepEqual(dialer.dialed[0]?.o.codecs, ['PCMU', 'PCMA'], 'the caller\'s law offered first');
        const live = g.calls.find(call.id)!;
        assert.equal(live.state, 'active', 'the caller is still on the line, now with a person');
        assert.equal(live.leasesHeld, 0, 'the agent left: its leases are back');
        assert.equal(leasesOut(g), 0, 'and no pool has any out');
        const view = (await (await fetch(`${g.opsUrl}/api/calls`)).json()) as { active: unknown[]; held: Held };
        assert.equal(view.active.length, 1, '/api/calls: the call is still up');
        assert.deepEqual((view.active[0] as CallSnapshot).transfer, { target: 'front-desk', state: 'bridged' });
        assert.equal(view.held.leases, 0, '/api/calls: no upstream lease held while the caller talks to a person');
        assert.equal(view.held.pacerStreams, 0, 'the agent\'s playout left the pacer');
        // The caller's µ-law reaches the person as A-law, and back.
        const tone = Buffer.alloc(160 * 10, 0x25);
        await phone.send(tone);
        await until(() => (dialer.phone?.received.filter((p) => p.payloadType === 8).length ?? 0) >= 5, 'the caller heard by the target');
        const atTarget = dialer.phone!.received.find((p) => p.payloadType === 8)!;
        assert.deepEqual(atTarget.payload, Buffer.from(ulawToAlaw(Buffer.alloc(160, 0x25))));
        const before = phone.received.length;
        await dialer.phone!.send(Buffer.from(ulawToAlaw(Buffer.alloc(160 * 10, 0x31))), 8);
        await until(() => phone.received.slice(before).filter((p) => p.payloadType === 0 && p.payload[0] === 0x31).length >= 5, 'the target heard by the caller');
        // The person hangs up: the gateway ends the caller's call with BYE.
        dialer.leg!.farEndHangsUp();
        const { code, out } = await run.done;
        assert.equal(code, 0, out.slice(-3000));
        await until(() => ended(g, call.id) !== undefined, 'the call ended');
        assert.equal(ended(g, call.id)!.endReason, 'transferred');
      } finally {
        cleanups.splice(0).forEach((c) => c());
      }
      await settled(g, 'after the bridge');
      assert.equal(dialer.portsInUse, 0, 'the dialed leg\'s port is back');
    });

    it('(c) target busy on both paths: transfer-failed with both reasons, the call stays with its agent', async () => {
      dialer.answer = false;
      const { run, call } = await carrierCall(g, 'refer-busy.xml');
      try {
        const r = await transferApi(g, call.id, { target: 'front-desk', say: 'One moment please.' });
        assert.equal(r.status, 502);
        assert.ok(g.calls.find(call.id)!.snapshot().transcript.some((t) => t.from === 'agent' && t.text === 'One moment please.'), 'the line asked for was spoken before the REFER');
        assert.match(String(r.body.refer), /486 Busy Here/);
        assert.match(String(r.body.fallback), /failed: .*486 Busy Here/);
        assert.equal(g.calls.find(call.id)?.state, 'active');
        g.calls.hangup(call.id);
        assert.equal((await run.done).code, 0);
      } finally {
        cleanups.splice(0).forEach((c) => c());
        dialer.answer = true;
      }
      await settled(g, 'after a busy target');
    });
  });
});
