import assert from 'node:assert/strict';
import { Synthesizer } from '../../../src/local/index.js';
import { REPLACEMENT_APOLOGY } from '../../../src/agent/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway, leasesOut } from '../../support/gateway.js';
import { RawUac } from '../../support/sip-uac.js';
import { RtpPeer, type ReceivedRtp } from '../../support/rtp-peer.js';
import { until } from '../../support/wait.js';

const silence = (ms: number) => Buffer.alloc((ms * 8000) / 1000, 0xff);

/** The µ-law payloads received after `at`, in RTP order: what the caller heard from then on. */
function heardAfter(received: ReceivedRtp[], at: number): Buffer {
  return Buffer.concat(received.filter((p) => p.at > at && p.payloadType === 0).sort((a, b) => a.seq - b.seq).map((p) => p.payload));
}

/**
 * Issue 15 end to end: a carrier call over real SIP and RTP, the TTS provider
 * cuts every socket while the agent's reply is playing. The caller's RTP peer
 * receives the apology's audio and more of the reply after the cut (spoken
 * on a fresh socket), and the call releases everything when it ends.
 */
describe('calls: a TTS socket lost mid-reply, heard at the RTP peer', function () {
  this.timeout(90_000);
  let g: Gateway;
  let uac: RawUac;
  before(async () => {
    // A one-word greeting: the test waits for it to end before it speaks.
    g = await startTestGateway({ routes: [{ did: '+1555*', agent: 'receptionist' }], agents: { receptionist: { greeting: 'Hello.' } }, media: { rtpTimeoutMs: 2000 } });
    uac = await RawUac.bind();
  });
  after(async () => {
    uac.close();
    await g.close();
  });

  it('after the cut the caller hears the apology and the reply again; nothing leaks', async () => {
    const peer = await RtpPeer.bind();
    let talking = true;
    let keep: Promise<void> = Promise.resolve();
    const quiet = () => { talking = true; keep = (async () => { while (talking) await peer.send(silence(200)); })(); };
    try {
      const ok = await uac.invite(g.sip, '+15551230000', [[0, 'PCMU']]);
      assert.equal(ok.status, 200);
      await until(() => g.calls.view().active[0]?.localPort !== undefined, 'call up');
      peer.target('127.0.0.1', g.calls.view().active[0]!.localPort!);
      quiet();
      await until(() => (g.calls.view().active[0]?.turns.length ?? 0) >= 1, 'greeting done', 30_000);
      const speech = await new Synthesizer().synthesize('Can I see the doctor on Monday morning?');
      const apology = await g.local!.synthesizer.synthesize(REPLACEMENT_APOLOGY);
      // Each sentence of the reply starts 400 ms after the one before: the cut lands inside the reply.
      g.local!.tts.chaos.set({ slowFirstByteMs: 400 });
      talking = false;
      await keep;
      await peer.send(speech);
      const spokeAt = performance.now();
      quiet();
      await until(() => peer.voiced().some((p) => p.at > spokeAt), 'the reply is playing', 30_000);
      const cutAt = performance.now();
      g.local!.tts.dropConnections();
      await until(() => (g.calls.view().active[0]?.turns.length ?? 0) >= 2, 'the reply turn ended', 45_000);
      const turn = g.calls.view().active[0]!.turns[1]!;
      assert.equal(turn.outcome, 'completed');
      assert.ok(turn.acquireMs['tts-replacement'] !== undefined, JSON.stringify(turn.acquireMs));
      const heard = heardAfter(peer.received, cutAt);
      // A stretch from the middle of the apology, found in what the peer received after the cut.
      assert.ok(heard.indexOf(apology.subarray(1600, 4800)) >= 0, `the apology's audio arrived after the cut (${heard.length} bytes after it)`);
      const voicedAfter = peer.voiced().filter((p) => p.at > cutAt).length;
      assert.ok(voicedAfter * 160 > apology.length + 8000, `the reply followed the apology (${voicedAfter} voiced packets after the cut)`);
      talking = false;
      await keep;
      await until(() => g.calls.activeCount === 0, 'released on RTP timeout', 20_000);
      await until(() => leasesOut(g) === 0, 'leases back');
    } finally {
      g.local?.tts.chaos.set({});
      talking = false;
      await keep;
      peer.close();
    }
  });
});
