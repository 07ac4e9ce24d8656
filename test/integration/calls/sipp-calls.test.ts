import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Synthesizer } from '../../../src/local/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import type { CallSnapshot } from '../../../src/calls/index.js';
import { startTestGateway, leasesOut } from '../../support/gateway.js';
import { RtpPeer } from '../../support/rtp-peer.js';
import { sipp } from '../../support/sipp.js';
import { until } from '../../support/wait.js';

const SCENARIOS = fileURLToPath(new URL('./scenarios/', import.meta.url));
const silence = (ms: number) => Buffer.alloc((ms * 8000) / 1000, 0xff);

function activeCall(g: Gateway): CallSnapshot | undefined {
  return g.calls.view().active[0];
}

function lastEnded(g: Gateway): CallSnapshot {
  const c = g.calls.view().recent[0];
  assert.ok(c, 'a call has ended');
  return c;
}

/**
 * Whole calls: sipp places them as a carrier would, through the real SIP
 * stack, RTP sessions, shared pacer, warm pools and local upstreams.
 */
describe('calls: sipp carrier calls through the gateway', function () {
  this.timeout(90_000);
  let g: Gateway;
  let speech: Buffer;

  before(async () => {
    g = await startTestGateway({ media: { rtpTimeoutMs: 2000 } });
    speech = await new Synthesizer().synthesize('Hello, I would like to book an appointment for tomorrow please.');
  });
  after(async () => {
    await g.close();
  });

  it('greets, answers the caller over warm pools with no connection opened in the turn, hangs up on RTP timeout and returns every lease', async () => {
    const peer = await RtpPeer.bind();
    try {
      const run = sipp(g.sip, ['-sf', `${SCENARIOS}call-wait-bye.xml`, '-s', '15550001000', '-key', 'rtp_port', String(peer.port), '-m', '1']);
      await until(() => activeCall(g)?.localPort !== undefined, 'call answered');
      const call = activeCall(g)!;
      assert.equal(call.did, '15550001000');
      assert.equal(call.caller, '+15551230001');
      assert.equal(call.codec, 'PCMU', 'PCMU preferred when offered first');
      peer.target('127.0.0.1', call.localPort!);
      // The caller's phone sends from the first moment, as phones do.
      let talking = true;
      const keepSending = (async () => {
        while (talking) await peer.send(silence(200));
      })();
      await until(() => peer.voiced().length > 25, 'the greeting is heard as RTP');
      assert.ok(peer.received.every((p) => p.payloadType === 0), 'PCMU payload type');
      assert.ok(peer.received[0]!.marker || peer.received.find((p) => p.marker), 'talkspurt marked');
      await until(() => (activeCall(g)?.turns.length ?? 0) >= 1, 'greeting finished', 30_000);
      const before = peer.voiced().length;
      talking = false;
      await keepSending;
      await peer.send(speech);
      talking = true;
      const keepSending2 = (async () => {
        while (talking) await peer.send(silence(200));
      })();
      await until(() => (activeCall(g)?.turns.length ?? 0) >= 2, 'the reply turn finished', 30_000);
      const turn = activeCall(g)!.turns[1]!;
      assert.equal(turn.outcome, 'completed');
      assert.match(turn.text, /speech/, 'the stand-in ASR heard speech');
      assert.equal(turn.connectionsOpened, 0, 'warm: no connection opened inside the turn');
      const m = turn.marks;
      for (const k of ['asrFinal', 'llmFirstToken', 'ttsFirstAudio', 'firstRtpOut'] as const) assert.ok(m[k] !== undefined, `turn marks ${k}`);
      assert.ok(m.asrFinal! <= m.llmFirstToken! && m.llmFirstToken! <= m.ttsFirstAudio! && m.ttsFirstAudio! <= m.firstRtpOut!, JSON.stringify(m));
      // Speech end is when the last voiced frame arrived, not when the transcript did: the
      // recognizer's endpointing silence lies between them.
      assert.ok(m.asrFinal! >= g.config.upstreams.asr.endpointingMs - 100, `speech end precedes the final by the endpointing: ${JSON.stringify(m)}`);
      assert.ok(peer.voiced().length > before + 25, 'the reply is heard as RTP');
      // The phone goes quiet without a BYE: the RTP timeout ends the call and the gateway sends BYE.
      talking = false;
      await keepSending2;
      const r = await run.done;
      assert.equal(r.code, 0, r.out);
      await until(() => g.calls.activeCount === 0, 'call released');
      assert.equal(lastEnded(g).endReason, 'rtp-timeout');
      await until(() => leasesOut(g) === 0, 'every lease returned');
    } finally {
      peer.close();
    }
  });

  it("caller speech during the greeting cuts it off (barge-in) and gets its own reply", async () => {
    const peer = await RtpPeer.bind();
    try {
      const greeting = await new Synthesizer().synthesize(g.config.agents.receptionist!.greeting);
      const run = sipp(g.sip, ['-sf', `${SCENARIOS}call-wait-bye.xml`, '-s', '15550001000', '-key', 'rtp_port', String(peer.port), '-m', '1']);
      await until(() => activeCall(g)?.localPort !== undefined, 'call answered');
      peer.target('127.0.0.1', activeCall(g)!.localPort!);
      await peer.send(silence(100));
      await until(() => peer.voiced().length > 20, 'greeting playing');
      let talking = true;
      await peer.send(speech);
      const keepSending = (async () => {
        while (talking) await peer.send(silence(200));
      })();
      await until(() => (activeCall(g)?.turns.length ?? 0) >= 2, 'the reply turn', 30_000);
      const [first, second] = activeCall(g)!.turns;
      assert.equal(first!.outcome, 'barged-in');
      // This call's ASR socket is a warm one whose stream carried the previous call's audio.
      assert.ok(second!.marks.asrFinal! >= g.config.upstreams.asr.endpointingMs - 100, JSON.stringify(second!.marks));
      assert.match(second!.text, /speech/);
      // The greeting was cut: fewer of its frames reached the caller than it holds.
      const greetingFrames = Math.ceil(greeting.length / 160);
      const firstSpurtEnd = peer.received.findIndex((p, i) => i > 0 && p.marker);
      const heardOfGreeting = firstSpurtEnd < 0 ? peer.received.length : firstSpurtEnd;
      assert.ok(heardOfGreeting < greetingFrames, `heard ${heardOfGreeting} of ${greetingFrames} greeting frames`);
      talking = false;
      await keepSending;
      assert.equal((await run.done).code, 0);
      await until(() => leasesOut(g) === 0, 'every lease returned');
    } finally {
      peer.close();
    }
  });

  it("sipp's own RTP (pcap): RFC 4733 DTMF reaches the agent and an A-law call is answered in A-law; BYE releases everything", async () => {
    const run = sipp(g.sip, ['-sf', `${SCENARIOS}call-pcap.xml`, '-s', '15550001000', '-mp', '0', '-d', '6000', '-m', '1']);
    const r = await run.done;
    assert.equal(r.code, 0, r.out);
    await until(() => g.calls.activeCount === 0, 'call released');
    const c = lastEnded(g);
    assert.equal(c.codec, 'PCMA');
    assert.equal(c.endReason, 'bye');
    assert.ok(c.turns.some((t) => t.text === '[dtmf 1]'), `turns: ${c.turns.map((t) => t.text).join(' | ')}`);
    assert.ok(c.rtp!.received > 100, `received ${c.rtp!.received} RTP packets from sipp`);
    assert.ok(c.rtp!.sent > 50, `sent ${c.rtp!.sent} RTP packets to sipp`);
    await until(() => leasesOut(g) === 0, 'every lease returned');
  });

  it('over TCP too: sipp -t t1 places the call on a TCP connection, ACK and BYE follow it, the greeting goes out as RTP (hold shorter than the 2 s RTP timeout: this sipp sends no RTP)', async () => {
    const run = sipp(g.sip, ['-sf', `${SCENARIOS}call-hold-bye.xml`, '-t', 't1', '-s', '15550001000', '-mp', '0', '-d', '1200', '-m', '1']);
    const r = await run.done;
    assert.equal(r.code, 0, r.out);
    await until(() => g.calls.activeCount === 0, 'call released');
    const c = lastEnded(g);
    assert.equal(c.endReason, 'bye');
    assert.equal(c.codec, 'PCMU');
    assert.ok(c.rtp!.sent > 20, `greeting sent as RTP (${c.rtp!.sent} packets)`);
    await until(() => leasesOut(g) === 0, 'every lease returned');
  });

  it('many calls in a row leak nothing: leases, RTP ports and pacer streams all return', async () => {
    const run = sipp(g.sip, ['-sf', `${SCENARIOS}call-pcap.xml`, '-s', '15550001000', '-mp', '0', '-d', '500', '-m', '20', '-r', '10', '-l', '10'], 120);
    const r = await run.done;
    assert.equal(r.code, 0, r.out);
    await until(() => g.calls.activeCount === 0, 'calls released');
    await until(() => leasesOut(g) === 0, 'every lease returned');
    assert.equal(g.pacer.stats().streams, 0, 'no stream left in the pacer');
    const v = g.calls.view();
    assert.ok(v.recent.slice(0, 10).every((c) => c.endReason === 'bye'));
    assert.ok(v.totals.answered >= 20);
  });
});
