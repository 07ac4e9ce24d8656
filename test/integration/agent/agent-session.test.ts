import assert from 'node:assert/strict';
import { startLocalUpstreams, Synthesizer, type LocalUpstreams } from '../../../src/local/index.js';
import { ExclusivePool, MultiplexedPool, type PoolBase } from '../../../src/pools/index.js';
import { createCrmFactory, createDeepgramFactory, createElevenLabsFactory, createLlmFactory, type CrmSession, type DeepgramConnection, type ElevenLabsConnection, type LlmSession } from '../../../src/upstreams/index.js';
import { AgentSession } from '../../../src/agent/agent-session.js';
import { TurnOverError } from '../../../src/agent/index.js';
import { createLogger } from '../../../src/log.js';
import type { TurnRecord } from '../../../src/agent/turn-timeline.js';
import { until } from '../../support/wait.js';

const KEY = 'local-dev-key';
const silence = (ms: number) => Buffer.alloc((ms * 8000) / 1000, 0xff);

/**
 * The agent's turn loop over real warm pools and the local upstreams (no SIP
 * yet: the test stands where the RTP session will, feeding 20 ms frames and
 * collecting the audio the agent plays).
 */
describe('agent: the turn loop over warm pools', function () {
  this.timeout(60000);
  let up: LocalUpstreams;
  /** The agent sees LeaseSources; the test also reads the pools' stats. */
  let pools: { asr: PoolBase<DeepgramConnection>; tts: PoolBase<ElevenLabsConnection>; llm: PoolBase<LlmSession>; crm: PoolBase<CrmSession> };
  let speech: Buffer;
  const log = createLogger('silent');

  before(async () => {
    up = await startLocalUpstreams({ llmTokenIntervalMs: 2 });
    speech = await new Synthesizer().synthesize('Hello, I would like to book an appointment please.');
  });
  after(() => up.close());

  beforeEach(async () => {
    const common = { apiKey: KEY, ca: up.ca };
    pools = {
      asr: new ExclusivePool({ name: 'asr', min: 2, max: 4, factory: createDeepgramFactory({ ...common, baseUrl: up.asr.url, model: 'm', language: 'en', endpointingMs: 300, finalizeTimeoutMs: 3000 }) }),
      tts: new MultiplexedPool({ name: 'tts', min: 1, max: 3, factory: createElevenLabsFactory({ ...common, baseUrl: up.tts.url, voiceId: 'v', modelId: 'm', multiContext: true }) }),
      llm: new MultiplexedPool({ name: 'llm', min: 1, max: 2, acquireTimeoutMs: 500, factory: createLlmFactory({ ...common, provider: 'openai', baseUrl: up.llm.url, model: 'm', streamsPerSession: 20 }) }),
      crm: new MultiplexedPool({ name: 'crm', min: 1, max: 2, factory: createCrmFactory({ ...common, baseUrl: up.crm.url }) }),
    };
    for (const p of Object.values(pools)) p.start();
    await Promise.all(Object.values(pools).map((p) => p.whenReady()));
  });
  afterEach(async () => {
    await Promise.all(Object.values(pools).map((p) => p.close()));
  });

  function session(profile: Partial<{ greeting: string; tools: Array<'lookup_caller' | 'book_appointment'> }> = {}) {
    const played: Buffer[] = [];
    let flushes = 0;
    // Stands where the media pacer will: audio plays out in real time and can be flushed.
    let playingUntil = 0;
    let waiters: Array<() => void> = [];
    const settle = () => { const w = waiters; waiters = []; w.forEach((f) => f()); };
    // Timers may fire a millisecond early against Date.now(): re-check rather than trust one.
    const check = () => (Date.now() >= playingUntil ? settle() : void setTimeout(check, playingUntil - Date.now() + 2));
    // Each turn's TTS acquisition carries the turn's signal: what stops the turn's work is read from it.
    const ttsSignals: AbortSignal[] = [];
    const tts = { acquire: (o?: { signal?: AbortSignal }) => { if (o?.signal) ttsSignals.push(o.signal); return pools.tts.acquire(o); } };
    const agent = new AgentSession({
      callId: 'test-call',
      callerNumber: '+15551230001',
      profile: { greeting: profile.greeting ?? '', systemPrompt: 'You are a test.', voiceId: '', language: '', tools: profile.tools ?? ['lookup_caller', 'book_appointment'] },
      upstreams: { ...pools, tts },
      log,
      playAudio: (b) => {
        played.push(b);
        agent.audioPlayed();
        playingUntil = Math.max(playingUntil, Date.now()) + (b.length / 8000) * 1000;
        setTimeout(check, playingUntil - Date.now() + 2);
      },
      flushAudio: () => { flushes++; playingUntil = 0; settle(); },
      playbackDone: () => (Date.now() >= playingUntil ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    });
    const turns: TurnRecord[] = [];
    agent.on('turn', (t) => turns.push(t));
    return { agent, played, turns, ttsSignals, flushes: () => flushes };
  }

  /** Caller audio in 20 ms frames, sent as fast as the socket takes it (the VAD counts audio time). */
  function say(agent: AgentSession, audio: Buffer): void {
    for (let i = 0; i < audio.length; i += 160) agent.pushCallerAudio(audio.subarray(i, i + 160));
  }

  const inUse = () => Object.values(pools).reduce((n, p) => n + p.stats().inUse, 0);

  it('greets, then answers an utterance, every upstream acquired warm (no connection opened in the turn)', async () => {
    const s = session({ greeting: 'Welcome to the clinic.' });
    await s.agent.start();
    await until(() => s.turns.length === 1, 'the greeting');
    assert.equal(s.turns[0]!.outcome, 'completed');
    const greetingBytes = s.played.reduce((n, b) => n + b.length, 0);
    assert.ok(greetingBytes > 4000, 'the greeting was spoken as audio');
    say(s.agent, Buffer.concat([silence(200), speech, silence(800)]));
    await until(() => s.turns.length === 2, 'the reply turn', 20000);
    const t = s.turns[1]!;
    assert.equal(t.outcome, 'completed');
    assert.match(t.text, /^\[speech \d\.\d\d s\]$/);
    for (const m of ['asrFinal', 'llmFirstToken', 'ttsFirstAudio', 'firstRtpOut'] as const) assert.ok(t.marks[m] !== undefined, `mark ${m}`);
    assert.ok(t.marks.firstRtpOut! >= t.marks.ttsFirstAudio! && t.marks.ttsFirstAudio! >= t.marks.llmFirstToken!, 'marks in order');
    assert.equal(t.connectionsOpened, 0, 'no connection opened inside the turn');
    assert.ok('llm' in t.acquireMs && 'tts' in t.acquireMs);
    assert.equal(new Set(s.ttsSignals).size, 2, 'a signal of its own for each turn');
    assert.ok(s.ttsSignals.every((sig) => sig.aborted), 'each finished turn stopped its work');
    assert.equal(new Set(s.ttsSignals.map((sig) => sig.reason)).size, 1, 'one reason instance for every turn: no stack trace built per turn');
    s.agent.end();
    await until(() => inUse() === 0, 'every lease back');
  });

  it('a keypad request becomes an LLM tool call served by the CRM pool, and the reply reports the booking', async () => {
    const s = session();
    await s.agent.start();
    const crmRequests = up.crm.stats.requests;
    s.agent.dtmf('1');
    await until(() => s.turns.length === 1, 'the booking turn', 20000);
    const t = s.turns[0]!;
    assert.equal(t.text, '[dtmf 1]');
    assert.equal(t.outcome, 'completed');
    assert.ok('crm' in t.acquireMs, 'the CRM pool served the tool call');
    assert.ok(up.crm.stats.requests > crmRequests, 'the CRM was called');
    assert.equal(t.connectionsOpened, 0);
    // a second booking of the same slot is refused by the CRM and the agent says so instead of failing
    s.agent.dtmf('1');
    await until(() => s.turns.length === 2, 'the second booking turn', 20000);
    assert.equal(s.turns[1]!.outcome, 'completed');
    s.agent.end();
    await until(() => inUse() === 0, 'every lease back');
  });

  it('barge-in: caller speech while the agent talks cancels the playback and flushes the pacer', async () => {
    const long = 'This is a very long greeting that goes on and on, describing every service of the clinic in detail, so that the caller has plenty of time to interrupt it.';
    const s = session({ greeting: long });
    await s.agent.start();
    await until(() => s.played.length > 0, 'the greeting starts playing');
    say(s.agent, Buffer.concat([speech.subarray(0, 8000), silence(100)]));
    await until(() => s.turns.some((t) => t.outcome === 'barged-in'), 'barge-in');
    assert.ok(s.flushes() >= 1, 'the pacer was flushed');
    const reason: unknown = s.ttsSignals[0]!.reason;
    assert.ok(reason instanceof TurnOverError, `the barged-in turn's work stopped with ${String(reason)}`);
    assert.equal(reason.code, 'WL_ERR_TURN_OVER');
    assert.equal(reason.message, 'the turn is over');
    s.agent.end();
    await until(() => inUse() === 0, 'every lease back');
  });

  it('an ASR socket that dies mid-call is replaced and the utterance still gets its turn', async () => {
    const s = session();
    await s.agent.start();
    say(s.agent, Buffer.concat([silence(200), speech.subarray(0, speech.length / 2)]));
    up.asr.dropConnections();
    say(s.agent, Buffer.concat([speech.subarray(speech.length / 2), silence(800)]));
    await until(() => s.turns.length === 1, 'a turn after the ASR replacement', 20000);
    assert.match(s.turns[0]!.text, /\[speech/);
    s.agent.end();
    await until(() => inUse() === 0, 'every lease back');
  });

  it('an LLM that fails gets one retry, then the caller hears an apology', async () => {
    const s = session();
    await s.agent.start();
    await up.llm.pause();
    up.llm.dropConnections();
    await until(() => pools.llm.stats().size === 0, 'the LLM session gone');
    say(s.agent, Buffer.concat([silence(200), speech, silence(800)]));
    await until(() => s.turns.length === 1, 'the failed turn', 20000);
    assert.equal(s.turns[0]!.outcome, 'failed');
    assert.ok(s.played.length > 0, 'the apology was spoken');
    await up.llm.resume();
    s.agent.end();
    await until(() => inUse() === 0, 'every lease back');
  });

  it('hanging up mid-turn releases everything', async () => {
    const s = session({ greeting: 'A greeting long enough to still be playing when the caller hangs up on us.' });
    await s.agent.start();
    await until(() => s.played.length > 0, 'playing');
    s.agent.end();
    s.agent.end();
    await until(() => inUse() === 0, 'every lease back');
    assert.equal(s.turns.at(-1)!.outcome, 'hung-up');
  });
});
