import assert from 'node:assert/strict';
import { startLocalUpstreams, Synthesizer, type LocalUpstreams } from '../../../src/local/index.js';
import { until } from '../../support/wait.js';
import { startPools, poolsReady, closePools, leasesOut, startCall, say, silence, type AgentPools, type TestCall } from './agent-harness.js';

/**
 * Provider chaos against calls: the local upstreams throttle (429/503), stall,
 * cut sockets and refuse connections; every turn still ends with the caller
 * hearing something (a retry inside the turn, at worst a spoken apology), no
 * lease leaks, and the pools' stats and events say what happened.
 */
describe('providers: chaos at the upstreams, calls keep going', function () {
  this.timeout(120_000);
  let up: LocalUpstreams;
  let pools: AgentPools;
  let speech: Buffer;
  before(async () => {
    up = await startLocalUpstreams({ llmTokenIntervalMs: 2 });
    speech = await new Synthesizer().synthesize('Hello, I would like some help please.');
    // The apology and the usual replies, synthesized once, so turns measure chaos and not espeak.
    await up.synthesizer.synthesize("I'm sorry, I'm having trouble answering right now.");
  });
  after(() => up.close());
  beforeEach(async () => {
    for (const s of [up.asr, up.tts, up.llm, up.crm]) s.chaos.set({});
    // Short enough that a stall shows within a test, long enough that a loaded machine's normal pauses do not look like one.
    pools = startPools(up, { llmStreamIdleTimeoutMs: 5000, ttsGenerationTimeoutMs: 6000 });
    await poolsReady(pools);
  });
  afterEach(async () => {
    for (const s of [up.asr, up.tts, up.llm, up.crm]) s.chaos.set({});
    await closePools(pools);
  });

  /** One utterance, and the turn it makes: with what the caller heard during it. */
  async function turn(call: TestCall): Promise<{ outcome: string; heardBytes: number }> {
    const n = call.turns.length;
    const before = call.playedBytes();
    say(call.agent, Buffer.concat([silence(200), speech, silence(800)]));
    await until(() => call.turns.length > n, `turn ${n + 1}`, 60_000);
    return { outcome: call.turns[n]!.outcome, heardBytes: call.playedBytes() - before };
  }

  it('a 429 then a good answer: replaced inside the turn; two 503s: the caller hears the apology; the next turn is normal', async () => {
    const call = startCall(pools, 'chaos-1');
    await call.agent.start();
    const closes: Array<string | undefined> = [];
    pools.llm.on('close', (c) => closes.push(c.cause?.message));
    up.llm.chaos.errorNext(429);
    const retried = await turn(call);
    assert.equal(retried.outcome, 'completed');
    assert.ok(retried.heardBytes > 4000, 'the reply was heard');
    assert.ok(closes.some((m) => /429/.test(m ?? '')), `the pool saw the 429: ${JSON.stringify(closes)}`);

    up.llm.chaos.errorNext(503, 503);
    const apology = await turn(call);
    assert.equal(apology.outcome, 'failed');
    assert.ok(apology.heardBytes > 4000, 'the apology was heard');
    assert.equal(up.llm.chaos.counts.errors, 3);

    const normal = await turn(call);
    assert.equal(normal.outcome, 'completed');
    call.agent.end();
    await until(() => leasesOut(pools) === 0, 'every lease back');
    await until(() => pools.llm.stats().size >= 1 && pools.llm.stats().ready, 'the LLM pool back at its floor');
  });

  it('a stalled LLM stream times out and is retried on another session; a stalled TTS generation costs that socket, the turn is spoken on a fresh one', async () => {
    const call = startCall(pools, 'chaos-2');
    await call.agent.start();
    up.llm.chaos.stallNext(1);
    const stalled = await turn(call);
    assert.equal(stalled.outcome, 'completed', 'the retry answered');
    assert.ok(stalled.heardBytes > 4000);
    assert.equal(up.llm.chaos.counts.stalls, 1);

    const ttsCloses: Array<string | undefined> = [];
    pools.tts.on('close', (c) => ttsCloses.push(c.cause?.message));
    up.tts.chaos.stallNext(1);
    const replaced = await turn(call);
    assert.equal(replaced.outcome, 'completed', 'the turn took a fresh TTS socket (turn-voice.ts)');
    assert.ok(replaced.heardBytes > 4000, 'and the caller heard the reply');
    assert.ok(ttsCloses.some((m) => /audio for flushed context/.test(m ?? '')), JSON.stringify(ttsCloses));
    await until(() => pools.tts.stats().idle >= 1, 'a TTS socket warm again');
    const after = await turn(call);
    assert.equal(after.outcome, 'completed');
    call.agent.end();
    await until(() => leasesOut(pools) === 0, 'every lease back');
  });

  it('refused connections and cut sockets: warm pools keep serving, then refill out of band and say so in their stats', async () => {
    const call = startCall(pools, 'chaos-3');
    await call.agent.start();
    const failures: Error[] = [];
    pools.asr.on('open-failed', (e) => failures.push(e));
    up.asr.chaos.refuseFor(1500);
    assert.ok(up.asr.chaos.dropOne(), 'an idle ASR socket was cut');
    // The cut socket cannot be replaced while the server refuses: the pool retries with backoff.
    await until(() => failures.length > 0, 'the pool sees the refusal');
    const during = await turn(call);
    assert.equal(during.outcome, 'completed', 'the call kept its socket and the others stayed warm');
    await until(() => pools.asr.stats().size >= pools.asr.stats().min && pools.asr.stats().idle >= 1, 'the ASR pool refilled after the refusal', 20_000);
    const s = pools.asr.stats();
    assert.ok(s.openFailures >= 1 && s.replacements >= 1, JSON.stringify(s));
    call.agent.end();
    await until(() => leasesOut(pools) === 0, 'every lease back');
  });

  it('random chaos on every upstream: every turn ends (none hangs), the calls go on once it calms, and nothing leaks', async () => {
    const chaos = { dropPerSecond: 0.3, errorRate: 0.15, stallRate: 0.05, slowFirstByteMs: 50 };
    for (const s of [up.asr, up.tts, up.llm, up.crm]) s.chaos.set(chaos);
    const calls = [startCall(pools, 'random-1'), startCall(pools, 'random-2')];
    await Promise.all(calls.map((c) => c.agent.start()));
    const results = [];
    for (let i = 0; i < 3; i++) results.push(...(await Promise.all(calls.map((c) => turn(c)))));
    for (const s of [up.asr, up.tts, up.llm, up.crm]) s.chaos.set({});
    // Every turn ended (the turn helper waits for it). A TTS socket lost mid-turn is replaced
    // inside the turn; with none to be had the turn plays the apology clip and ends 'failed'.
    assert.ok(results.every((r) => r.outcome !== 'open'), JSON.stringify(results));
    await until(() => Object.values(pools).every((p) => p.stats().ready), 'pools warm again', 20_000);
    const after = await Promise.all(calls.map((c) => turn(c)));
    assert.deepEqual(after.map((r) => r.outcome), ['completed', 'completed'], `the same calls answer once calm (under chaos: ${JSON.stringify(results)})`);
    assert.ok(after.every((r) => r.heardBytes > 4000));
    for (const c of calls) c.agent.end();
    await until(() => leasesOut(pools) === 0, 'every lease back');
    const counts = [up.asr, up.tts, up.llm, up.crm].map((s) => s.chaos.counts);
    assert.ok(counts.some((c) => c.drops + c.errors + c.stalls > 0), `chaos happened: ${JSON.stringify(counts)}`);
    for (const p of Object.values(pools)) await until(() => p.stats().ready, `${p.stats().name} ready again`, 20_000);
  });
});
