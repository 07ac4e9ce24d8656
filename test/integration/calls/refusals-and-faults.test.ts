import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { Synthesizer } from '../../../src/local/index.js';
import { startGateway, type Gateway } from '../../../src/boot/gateway.js';
import { loadConfig } from '../../../src/config/index.js';
import { createLogger } from '../../../src/log.js';
import { startTestGateway, leasesOut } from '../../support/gateway.js';
import { RawUac } from '../../support/sip-uac.js';
import { RtpPeer } from '../../support/rtp-peer.js';
import { until } from '../../support/wait.js';

const silence = (ms: number) => Buffer.alloc((ms * 8000) / 1000, 0xff);

/** Bad input gets a clear SIP answer and loses nothing; a broken upstream mid-call loses no caller audio. */
describe('calls: refusals and faults', function () {
  this.timeout(60_000);
  let g: Gateway;
  let uac: RawUac;

  before(async () => {
    g = await startTestGateway({
      routes: [{ did: '+1555*', agent: 'receptionist' }],
      calls: { maxConcurrent: 1 },
      media: { rtpTimeoutMs: 3000 },
    });
    uac = await RawUac.bind();
  });
  after(async () => {
    uac.close();
    await g.close();
  });

  it('an offer with no common codec gets 488 and takes nothing', async () => {
    const r = await uac.invite(g.sip, '+15551230000', [[18, 'G729']]);
    assert.equal(r.status, 488);
    assert.equal(g.calls.activeCount, 0);
    assert.equal(leasesOut(g), 0);
    assert.equal(g.calls.view().totals.ended['setup-failed'] ?? 0, 1);
  });

  it('an INVITE without SDP (delayed offer) gets our offer in the 200; an ACK without the answer ends the call with BYE and takes nothing', async () => {
    const r = await uac.invite(g.sip, '+15551230000', null);
    assert.equal(r.status, 200);
    assert.match(r.text, /m=audio \d+ RTP\/AVP 0 8 101/, 'our offer');
    await until(() => g.calls.activeCount === 0, 'the call ended');
    assert.equal(g.calls.view().recent[0]!.endReason, 'bad-answer');
    assert.equal(leasesOut(g), 0);
  });

  it('a number no route matches gets 404', async () => {
    const r = await uac.invite(g.sip, '+4420712345', [[0, 'PCMU']]);
    assert.equal(r.status, 404);
    assert.equal(g.calls.activeCount, 0);
  });

  it('past calls.maxConcurrent the next INVITE gets 503; garbage RTP is dropped and counted; an ASR socket lost mid-call is replaced and the caller still gets answers', async () => {
    const peer = await RtpPeer.bind();
    try {
      const first = await uac.invite(g.sip, '+15551230000', [[0, 'PCMU'], [101, 'telephone-event']]);
      assert.equal(first.status, 200);
      await until(() => g.calls.view().active[0]?.localPort !== undefined, 'call up');
      const port = g.calls.view().active[0]!.localPort!;
      peer.target('127.0.0.1', port);

      const second = await uac.invite(g.sip, '+15551230001', [[0, 'PCMU']]);
      assert.equal(second.status, 503, 'over capacity');

      // Garbage: wrong version, short packets, random bytes. None may hurt the call.
      const s = dgram.createSocket('udp4');
      for (let i = 0; i < 20; i++) s.send(i % 2 ? randomBytes(5) : Buffer.concat([Buffer.from([0x40, 0]), randomBytes(170)]), port, '127.0.0.1');
      await until(() => (g.calls.view().active[0]?.rtp?.dropped.malformed ?? 0) >= 20, 'garbage counted');
      s.close();
      assert.equal(g.calls.view().active[0]!.state, 'active');

      // The phone talks; the ASR provider drops every socket meanwhile.
      let talking = true;
      const keep = (async () => {
        while (talking) await peer.send(silence(200));
      })();
      await until(() => (g.calls.view().active[0]?.turns.length ?? 0) >= 1, 'greeting done', 30_000);
      const speech = await new Synthesizer().synthesize('Can I see the doctor on Monday morning?');
      talking = false;
      await keep;
      // Mid-utterance: what the lost socket had not acknowledged is resent on its replacement.
      const half = Math.floor(speech.length / 320) * 160;
      await peer.send(speech.subarray(0, half));
      g.local!.asr.dropConnections();
      await peer.send(speech.subarray(half));
      talking = true;
      const keep2 = (async () => {
        while (talking) await peer.send(silence(200));
      })();
      await until(() => (g.calls.view().active[0]?.turns.length ?? 0) >= 2, 'a reply after the ASR socket was replaced', 30_000);
      const t = g.calls.view().active[0]!.turns[1]!;
      assert.match(t.text, /speech/);
      assert.ok(t.marks.firstRtpOut !== undefined);
      talking = false;
      await keep2;
      // The UAC never hangs up: the RTP timeout releases the call.
      await until(() => g.calls.activeCount === 0, 'released on RTP timeout', 20_000);
      assert.equal(g.calls.view().recent[0]!.endReason, 'rtp-timeout');
      await until(() => leasesOut(g) === 0, 'leases back');
    } finally {
      peer.close();
    }
  });
});

describe('calls: edge security at the gateway', function () {
  this.timeout(30_000);
  let g: Gateway;
  before(async () => {
    g = await startTestGateway({ sip: { carriers: ['192.0.2.0/24'], rate: { perSecond: 2, burst: 3 } } });
  });
  after(async () => {
    await g.close();
  });

  it('an INVITE from an address that is not a configured carrier gets 403 and no call', async () => {
    const uac = await RawUac.bind();
    try {
      const r = await uac.invite(g.sip, '+15551230000', [[0, 'PCMU']]);
      assert.equal(r.status, 403);
      assert.equal(g.calls.view().totals.answered, 0);
      // More INVITEs from that source within the second are dropped before parsing, unanswered
      // (sip/edge/early-drop.ts: one refusal a second is answered, as pike drops rather than answers)…
      await assert.rejects(uac.invite(g.sip, '+15551230000', [[0, 'PCMU']], 1500), /no final response/);
      // …and once the second has passed, the source hears why again.
      assert.equal((await uac.invite(g.sip, '+15551230000', [[0, 'PCMU']])).status, 403);
      const metrics = await (await fetch(`${g.opsUrl}/metrics`)).text();
      assert.match(metrics, /warmline_sip_early_dropped_total\{reason="refused"\} [1-9]/);
    } finally {
      uac.close();
    }
  });
});

describe('calls: no call before the pools are warm', function () {
  this.timeout(30_000);

  it('INVITEs during warm-up get 503 (the balancer sends them to a warm replica); once warm, calls are answered', async () => {
    const config = loadConfig({ env: {}, overrides: { server: { httpPort: 0 }, sip: { port: 0 }, log: { level: 'silent' }, local: { handshakeDelayMs: 1500 }, media: { portMin: 46000, portMax: 46199 } } });
    const g = await startGateway(config, { log: createLogger('silent') });
    const uac = await RawUac.bind();
    try {
      assert.equal(g.readiness().ready, false, 'still warming');
      assert.equal((await uac.invite(g.sip, '+15551230000', [[0, 'PCMU']])).status, 503);
      await g.whenReady();
      assert.equal((await uac.invite(g.sip, '+15551230000', [[0, 'PCMU']])).status, 200);
    } finally {
      uac.close();
      await g.close();
    }
  });
});
