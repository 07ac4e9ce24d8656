import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startLocalUpstreams, sphinxAvailability, Synthesizer, type LocalUpstreams } from '../../../src/local/index.js';
import { createDeepgramFactory, type Transcript } from '../../../src/upstreams/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway, leasesOut } from '../../support/gateway.js';
import { RtpPeer } from '../../support/rtp-peer.js';
import { sipp } from '../../support/sipp.js';
import { until } from '../../support/wait.js';
import { recognizeUlaw, wordsHeard } from '../../support/recognize.js';
import { ulawToPcm } from '../../../media/index.js';

/**
 * The local ASR hears words (issue 11 item 8): with Debian's pocketsphinx and
 * its English model installed (.ci/run installs both), the Deepgram-compatible
 * server's finals carry what was said, not "[speech 1.24 s]".
 */
const SENTENCE = 'I would like to book an appointment for tomorrow morning';
const WORDS = ['book', 'appointment', 'tomorrow', 'morning'];
const SCENARIOS = fileURLToPath(new URL('../calls/scenarios/', import.meta.url));
const silence = (ms: number) => Buffer.alloc((ms * 8000) / 1000, 0xff);

/** How many of the sentence's content words the recognizer got right. */
const heard = (text: string) => WORDS.filter((w) => text.toLowerCase().includes(w));

/** The agent's lines: the greeting (config/default.yaml), and the local LLM's (src/local/llm-server.ts) once a booking was made. */
const GREETING_WORDS = ['thanks', 'calling', 'demo', 'receptionist', 'how', 'can', 'help', 'today'];
const BOOKED_WORDS = ['booked', 'anything', 'else', 'can', 'help', 'with'];
const ECHO_WORDS = ['heard', 'local', 'test', 'model', 'only', 'tell', 'long', 'spoke', 'else'];

/** µ-law payloads of the agent's audio the peer received from index `from` on. */
function agentAudio(peer: RtpPeer, from: number, to = peer.received.length): Buffer {
  return Buffer.concat(peer.received.slice(from, to).filter((p) => p.payloadType === 0).map((p) => p.payload));
}

const voiced = (p: { payloadType: number; payload: Buffer }) => p.payloadType === 0 && Math.sqrt(ulawToPcm(p.payload).reduce((a, v) => a + v * v, 0) / p.payload.length) >= 200;

/** The agent spoke after packet `from` and has been quiet (silent packets or none) for `ms` since. */
function spokeThenQuiet(peer: RtpPeer, from: number, ms: number): boolean {
  const last = peer.received.slice(from).reverse().find(voiced);
  return last !== undefined && performance.now() - last.at >= ms;
}

describe('local ASR: real words from pocketsphinx', function () {
  // The recognizer decodes at about real time on an idle core; a loaded machine is several times slower.
  this.timeout(120_000);
  let speech: Buffer;
  before(async () => {
    assert.equal(sphinxAvailability().available, true, 'pocketsphinx and pocketsphinx-en-us are installed (.ci/run)');
    speech = await new Synthesizer().synthesize(SENTENCE);
  });

  describe('over the Deepgram protocol', () => {
    let up: LocalUpstreams;
    before(async () => { up = await startLocalUpstreams({ asrRecognizer: 'auto' }); });
    after(async () => { await up.close(); });

    it('says at start that it transcribes with pocketsphinx, and a final result carries the sentence\'s words', async () => {
      assert.equal(up.asrRecognizer.kind, 'pocketsphinx');
      const conn = await createDeepgramFactory({ baseUrl: up.asr.url, apiKey: 'local-dev-key', ca: up.ca, model: 'nova-2', language: 'en-US', endpointingMs: 300 }).open(new AbortController().signal);
      try {
        const finals: Transcript[] = [];
        conn.on('transcript', (t) => { if (t.isFinal && t.text) finals.push(t); });
        for (let i = 0; i < speech.length; i += 160) conn.sendAudio(speech.subarray(i, i + 160));
        conn.sendAudio(silence(1000));
        await until(() => finals.length > 0, 'a final transcript', 100_000);
        const text = finals.map((t) => t.text).join(' ');
        assert.ok(heard(text).length >= 2, `words of "${SENTENCE}" in "${text}"`);
        assert.doesNotMatch(text, /\[speech/);
        assert.equal(finals[0]!.speechFinal, true);
      } finally { await conn.close(); }
    });

    it('with asrRecognizer vad, the stand-in says why it hears no words', async () => {
      const vad = await startLocalUpstreams({ asrRecognizer: 'vad' });
      try {
        assert.deepEqual(vad.asrRecognizer, { kind: 'stand-in', reason: 'asrRecognizer is vad' });
      } finally { await vad.close(); }
    });
  });

  describe('in a call: the caller\'s sentence as RTP µ-law through the gateway', () => {
    let g: Gateway;
    before(async () => { g = await startTestGateway({ local: { asrRecognizer: 'auto' }, media: { rtpTimeoutMs: 2000 } }); });
    after(async () => { await g.close(); });

    it('the turn\'s transcript holds words of what the caller said', async () => {
      assert.equal(g.local?.asrRecognizer.kind, 'pocketsphinx');
      const peer = await RtpPeer.bind();
      let talking = true;
      try {
        const run = sipp(g.sip, ['-sf', `${SCENARIOS}call-wait-bye.xml`, '-s', '15550001000', '-key', 'rtp_port', String(peer.port), '-m', '1']);
        await until(() => g.calls.view().active[0]?.localPort !== undefined, 'call answered');
        peer.target('127.0.0.1', g.calls.view().active[0]!.localPort!);
        const quiet = (async () => { while (talking) await peer.send(silence(200)); })();
        await until(() => (g.calls.view().active[0]?.turns.length ?? 0) >= 1, 'the greeting finished', 60_000);
        await until(() => spokeThenQuiet(peer, 0, 800), 'the greeting played out', 30_000);
        talking = false;
        await quiet;
        const greeting = agentAudio(peer, 0);
        const replyFrom = peer.received.length;
        await peer.send(speech);
        talking = true;
        const quiet2 = (async () => { while (talking) await peer.send(silence(200)); })();
        await until(() => (g.calls.view().active[0]?.turns.length ?? 0) >= 2, 'the reply turn', 100_000);
        const turn = g.calls.view().active[0]!.turns[1]!;
        assert.ok(heard(turn.text).length >= 2, `words of "${SENTENCE}" in the turn's transcript "${turn.text}"`);
        // What the caller heard, recognized from the RTP it received: the agent's words, not just energy.
        await until(() => g.calls.view().active[0]?.turns.at(-1)?.outcome !== 'open' && spokeThenQuiet(peer, replyFrom, 1500), 'the reply played out', 60_000);
        const greetingText = await recognizeUlaw(greeting);
        assert.ok(wordsHeard(greetingText, GREETING_WORDS).length >= 3, `the greeting's words in what the caller heard: "${greetingText}"`);
        const replyText = await recognizeUlaw(agentAudio(peer, replyFrom));
        const expected = /book|appointment/.test(turn.text.toLowerCase()) ? BOOKED_WORDS : ECHO_WORDS;
        assert.ok(wordsHeard(replyText, expected).length >= 3, `the reply's words (${expected.join(', ')}) in what the caller heard: "${replyText}"`);
        talking = false;
        await quiet2;
        assert.equal((await run.done).code, 0);
        await until(() => g.calls.activeCount === 0 && leasesOut(g) === 0, 'call over, every lease back');
      } finally {
        talking = false;
        peer.close();
      }
    });
  });
});
