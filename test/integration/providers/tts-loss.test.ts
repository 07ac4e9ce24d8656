import assert from 'node:assert/strict';
import { startLocalUpstreams, Synthesizer, type LocalUpstreams } from '../../../src/local/index.js';
import { apologyClip, renderApologyClip, REPLACEMENT_APOLOGY, type AgentUpstreams } from '../../../src/agent/index.js';
import type { Lease, LeaseSource } from '../../../src/pools/index.js';
import type { ElevenLabsConnection } from '../../../src/upstreams/index.js';
import { until } from '../../support/wait.js';
import { startPools, poolsReady, closePools, leasesOut, startCall, say, silence, type AgentPools, type TestCall } from './agent-harness.js';

/** The real pool, with the leases it handed out kept in view so the test can cut the one a turn speaks on. */
export function watchTts(src: LeaseSource<ElevenLabsConnection>): { source: LeaseSource<ElevenLabsConnection>; leases: Array<Lease<ElevenLabsConnection>> } {
  const leases: Array<Lease<ElevenLabsConnection>> = [];
  return { leases, source: { acquire: async (o) => { const l = await src.acquire(o); leases.push(l); return l; } } };
}

/**
 * Issue 15: a TTS socket lost in the middle of a turn. The turn takes a fresh
 * socket from the warm pool and speaks again (a short apology first when the
 * caller already heard part of the reply); with no socket to be had, the
 * apology clip rendered at boot plays from memory. Either way the caller
 * hears speech after the loss and every lease goes back.
 */
describe('providers: a TTS socket lost mid-turn, the caller still hears the turn', function () {
  this.timeout(120_000);
  let up: LocalUpstreams;
  let pools: AgentPools;
  let speech: Buffer;
  let apology: Buffer;
  before(async () => {
    up = await startLocalUpstreams({ llmTokenIntervalMs: 2 });
    speech = await new Synthesizer().synthesize('Hello, I would like some help please.');
    // What the local TTS sends for the apology: the same espeak phrase, so the test can find it in what the caller heard.
    apology = await up.synthesizer.synthesize(REPLACEMENT_APOLOGY.trim());
    assert.ok(await renderApologyClip(), 'the apology clip rendered');
  });
  after(() => up.close());
  beforeEach(async () => {
    // Each generation (one per sentence) starts 400 ms late: the cut lands between the reply's sentences.
    up.tts.chaos.set({ slowFirstByteMs: 400 });
    pools = startPools(up, { ttsGenerationTimeoutMs: 6000 });
    await poolsReady(pools);
  });
  afterEach(async () => {
    for (const s of [up.asr, up.tts, up.llm, up.crm]) s.chaos.set({});
    await closePools(pools);
  });

  function callWithWatchedTts(id: string): { call: TestCall; leases: Array<Lease<ElevenLabsConnection>> } {
    const tts = watchTts(pools.tts);
    const upstreams: AgentUpstreams = { ...pools, tts: tts.source };
    return { call: startCall(pools, id, '', upstreams), leases: tts.leases };
  }

  /** Says a sentence and waits until the caller hears the start of the reply: returns the index of the next buffer played. */
  async function replyStarted(call: TestCall): Promise<number> {
    const before = call.played.length;
    say(call.agent, Buffer.concat([silence(200), speech, silence(800)]));
    await until(() => call.played.length > before, 'the reply started playing', 30_000);
    return call.played.length;
  }

  it('cut after part of the reply was heard: a fresh socket speaks the apology, then the reply; nothing leaks', async () => {
    const { call, leases } = callWithWatchedTts('tts-cut-1');
    await call.agent.start();
    await replyStarted(call);
    const cut = leases.at(-1)!;
    const cutAt = call.played.length;
    cut.conn.destroy(new Error('socket cut by the test'));
    await until(() => call.turns.length >= 1, 'the turn ended', 60_000);
    const turn = call.turns[0]!;
    assert.equal(turn.outcome, 'completed');
    assert.ok(turn.acquireMs['tts-replacement'] !== undefined, `a replacement socket was leased: ${JSON.stringify(turn.acquireMs)}`);
    assert.notEqual(leases.at(-1)!.conn, cut.conn, 'the replacement is another socket');
    const heard = Buffer.concat(call.played.slice(cutAt));
    assert.ok(heard.subarray(0, apology.length).equals(apology), `the first thing heard after the cut is the apology (${heard.length} bytes heard)`);
    assert.ok(heard.length > apology.length + 8000, 'and the reply follows it');
    // The next turn is normal: no apology, one socket.
    const n = leases.length;
    await replyStarted(call);
    await until(() => call.turns.length >= 2, 'the next turn ended', 60_000);
    assert.equal(call.turns[1]!.outcome, 'completed');
    assert.equal(leases.length, n + 1);
    call.agent.end();
    await until(() => leasesOut(pools) === 0, 'every lease back');
  });

  it('cut before any audio of the reply: replaced without an apology, the caller hears just the reply', async () => {
    const { call, leases } = callWithWatchedTts('tts-cut-2');
    await call.agent.start();
    // The generation stalls: the connector's generation timeout destroys the socket before any audio came.
    up.tts.chaos.stallNext(1);
    say(call.agent, Buffer.concat([silence(200), speech, silence(800)]));
    await until(() => call.turns.length >= 1, 'the turn ended', 60_000);
    const turn = call.turns[0]!;
    assert.equal(turn.outcome, 'completed');
    assert.ok(turn.acquireMs['tts-replacement'] !== undefined, JSON.stringify(turn.acquireMs));
    assert.equal(up.tts.chaos.counts.stalls, 1);
    const heard = Buffer.concat(call.played);
    assert.ok(heard.length > 8000, 'the reply was heard');
    assert.equal(heard.indexOf(apology.subarray(0, 1600)), -1, 'no apology: the caller had heard nothing of the lost generation');
    assert.ok(leases.length >= 2);
    call.agent.end();
    await until(() => leasesOut(pools) === 0, 'every lease back');
  });

  it('no TTS socket to be had after the cut: the clip rendered at boot plays from memory, the pool recovers later', async () => {
    const { call } = callWithWatchedTts('tts-cut-3');
    await call.agent.start();
    await replyStarted(call);
    // The provider goes away: new connections refused, every open one cut (server side).
    up.tts.chaos.refuseFor(10_000);
    const cutAt = call.played.length;
    up.tts.dropConnections();
    await until(() => call.turns.length >= 1, 'the turn ended', 60_000);
    assert.equal(call.turns[0]!.outcome, 'failed', 'the reply itself was not heard');
    const clip = apologyClip()!;
    const heard = Buffer.concat(call.played.slice(cutAt));
    assert.ok(heard.length >= clip.length && heard.subarray(heard.length - clip.length).equals(clip), `the clip was the last thing heard (${heard.length} bytes after the cut)`);
    call.agent.end();
    await until(() => leasesOut(pools) === 0, 'every lease back');
    await until(() => pools.tts.stats().ready && pools.tts.stats().idle >= 1, 'the TTS pool warm again once the refusal ends', 40_000);
    const after = call.turns.length;
    const again = startCall(pools, 'tts-cut-3b');
    await again.agent.start();
    await replyStarted(again);
    await until(() => again.turns.length >= 1, 'a turn after the outage', 60_000);
    assert.equal(again.turns[0]!.outcome, 'completed');
    assert.equal(call.turns.length, after);
    again.agent.end();
    await until(() => leasesOut(pools) === 0, 'every lease back');
  });
});
