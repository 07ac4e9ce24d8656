import type { LocalUpstreams } from '../../../src/local/index.js';
import { ExclusivePool, MultiplexedPool, type PoolBase } from '../../../src/pools/index.js';
import { createCrmFactory, createDeepgramFactory, createElevenLabsFactory, createLlmFactory, type CrmSession, type DeepgramConnection, type ElevenLabsConnection, type LlmSession } from '../../../src/upstreams/index.js';
import { AgentSession, type AgentUpstreams } from '../../../src/agent/agent-session.js';
import { createLogger } from '../../../src/log.js';
import type { TurnRecord } from '../../../src/agent/turn-timeline.js';

/**
 * The agent's turn loop over real warm pools, with the test standing where
 * the RTP session stands: it feeds caller audio and plays out what the agent
 * sends in real time. Shared by the chaos tests and the soak.
 */
export interface AgentPools {
  asr: PoolBase<DeepgramConnection>;
  tts: PoolBase<ElevenLabsConnection>;
  llm: PoolBase<LlmSession>;
  crm: PoolBase<CrmSession>;
}

export interface PoolTuning {
  /** Connector timeouts, short so that stalls show within a test. */
  llmStreamIdleTimeoutMs?: number;
  ttsGenerationTimeoutMs?: number;
  keepaliveMs?: number;
  /** Base URLs when a middlebox sits between the pools and the servers. */
  urls?: Partial<Record<'asr' | 'tts' | 'llm' | 'crm', string>>;
}

export function startPools(up: LocalUpstreams, t: PoolTuning = {}): AgentPools {
  const common = { apiKey: 'local-dev-key', ca: up.ca };
  const url = (n: 'asr' | 'tts' | 'llm' | 'crm') => t.urls?.[n] ?? up[n].url;
  const backoff = { initialMs: 50, maxMs: 500 };
  const keepalive = t.keepaliveMs !== undefined ? { keepaliveMs: t.keepaliveMs } : {};
  const pools: AgentPools = {
    asr: new ExclusivePool({ name: 'asr', min: 2, max: 4, backoff, ...keepalive, factory: createDeepgramFactory({ ...common, baseUrl: url('asr'), model: 'm', language: 'en', endpointingMs: 300, finalizeTimeoutMs: 3000 }) }),
    tts: new MultiplexedPool({ name: 'tts', min: 1, max: 3, backoff, ...keepalive, factory: createElevenLabsFactory({ ...common, baseUrl: url('tts'), voiceId: 'v', modelId: 'm', multiContext: true, ...(t.ttsGenerationTimeoutMs !== undefined && { generationTimeoutMs: t.ttsGenerationTimeoutMs }) }) }),
    // Two warm sessions: the agent's retry after a failed stream goes to the other one.
    llm: new MultiplexedPool({ name: 'llm', min: 2, max: 3, backoff, acquireTimeoutMs: 3000, ...keepalive, factory: createLlmFactory({ ...common, provider: 'openai', baseUrl: url('llm'), model: 'm', streamsPerSession: 20, ...(t.llmStreamIdleTimeoutMs !== undefined && { streamIdleTimeoutMs: t.llmStreamIdleTimeoutMs }) }) }),
    crm: new MultiplexedPool({ name: 'crm', min: 1, max: 2, backoff, ...keepalive, factory: createCrmFactory({ ...common, baseUrl: url('crm') }) }),
  };
  for (const p of Object.values(pools)) p.start();
  return pools;
}

export async function poolsReady(pools: AgentPools): Promise<void> {
  await Promise.all(Object.values(pools).map((p: PoolBase<never>) => p.whenReady()));
}

export async function closePools(pools: AgentPools): Promise<void> {
  await Promise.all(Object.values(pools).map((p: PoolBase<never>) => p.close()));
}

export const leasesOut = (pools: AgentPools): number => Object.values(pools).reduce((n, p: PoolBase<never>) => n + p.stats().inUse, 0);

export interface TestCall {
  agent: AgentSession;
  /** Audio the agent played, in order. */
  played: Buffer[];
  turns: TurnRecord[];
  playedBytes(): number;
}

const log = createLogger((process.env.WARMLINE_TEST_LOG as 'silent' | undefined) ?? 'silent');

export function startCall(pools: AgentPools, id: string, greeting = '', upstreams: AgentUpstreams = pools): TestCall {
  const played: Buffer[] = [];
  let playingUntil = 0;
  let waiters: Array<() => void> = [];
  const settle = () => { const w = waiters; waiters = []; w.forEach((f) => f()); };
  const check = () => (Date.now() >= playingUntil ? settle() : void setTimeout(check, playingUntil - Date.now() + 2));
  const agent: AgentSession = new AgentSession({
    callId: id,
    callerNumber: '+15551230001',
    profile: { greeting, systemPrompt: 'You are a test.', voiceId: '', language: '', tools: ['lookup_caller', 'book_appointment'] },
    upstreams,
    log,
    playAudio: (b) => {
      played.push(b);
      agent.audioPlayed();
      // Played out faster than real time (×8): the soak measures turns, not the length of the replies.
      playingUntil = Math.max(playingUntil, Date.now()) + (b.length / 8000) * 125;
      setTimeout(check, playingUntil - Date.now() + 2);
    },
    flushAudio: () => { playingUntil = 0; settle(); },
    playbackDone: () => (Date.now() >= playingUntil ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
  });
  const turns: TurnRecord[] = [];
  agent.on('turn', (t) => turns.push(t));
  return { agent, played, turns, playedBytes: () => played.reduce((n, b) => n + b.length, 0) };
}

export const silence = (ms: number): Buffer => Buffer.alloc((ms * 8000) / 1000, 0xff);

/** Caller audio in 20 ms frames, as fast as the socket takes it (the VAD counts audio time). */
export function say(agent: AgentSession, audio: Buffer): void {
  for (let i = 0; i < audio.length; i += 160) agent.pushCallerAudio(audio.subarray(i, i + 160));
}
