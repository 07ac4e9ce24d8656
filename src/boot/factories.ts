import type { WarmlineConfig, UpstreamName } from '../config/index.js';
import type { ConnectionFactory } from '../pools/index.js';
import {
  createCrmFactory, createDeepgramFactory, createElevenLabsFactory, createLlmFactory,
  type CrmSession, type DeepgramConnection, type ElevenLabsConnection, type LlmSession,
} from '../upstreams/index.js';
import type { UpstreamEndpoint } from './upstream-endpoints.js';

export interface UpstreamConnections {
  asr: DeepgramConnection;
  tts: ElevenLabsConnection;
  llm: LlmSession;
  crm: CrmSession;
}

/** Factories per connection key: ASR by language, TTS by voice (agents may differ). */
export interface UpstreamFactories {
  asr(language: string): ConnectionFactory<DeepgramConnection>;
  tts(voiceId: string): ConnectionFactory<ElevenLabsConnection>;
  llm(): ConnectionFactory<LlmSession>;
  crm(): ConnectionFactory<CrmSession>;
}

export function createUpstreamFactories(config: WarmlineConfig, endpoints: Record<UpstreamName, UpstreamEndpoint>): UpstreamFactories {
  const { asr, tts, llm } = config.upstreams;
  const memo = <T>(make: (k: string) => T) => {
    const cache = new Map<string, T>();
    return (k: string) => {
      let v = cache.get(k);
      if (!v) cache.set(k, (v = make(k)));
      return v;
    };
  };
  const asrFactory = memo((language) => createDeepgramFactory({
    baseUrl: endpoints.asr.baseUrl, apiKey: endpoints.asr.apiKey, ca: endpoints.asr.ca,
    model: asr.model, language, endpointingMs: asr.endpointingMs, utteranceEndMs: asr.utteranceEndMs,
    keepaliveMs: config.pools.asr.keepaliveMs || 4000,
    // The keepalive's WebSocket pong gets the pool's keepalive timeout, not a fixed 2 s of its own.
    pongTimeoutMs: config.pools.asr.keepaliveTimeoutMs,
  }));
  const ttsFactory = memo((voiceId) => createElevenLabsFactory({
    baseUrl: endpoints.tts.baseUrl, apiKey: endpoints.tts.apiKey, ca: endpoints.tts.ca,
    voiceId, modelId: tts.modelId, multiContext: tts.multiContext, contextsPerSocket: tts.contextsPerSocket,
    inactivityTimeoutS: tts.inactivityTimeoutS,
  }));
  const llmFactory = createLlmFactory({
    provider: llm.provider, baseUrl: endpoints.llm.baseUrl, apiKey: endpoints.llm.apiKey, ca: endpoints.llm.ca,
    model: llm.model, streamsPerSession: llm.streamsPerSession,
  });
  const crmFactory = createCrmFactory({ baseUrl: endpoints.crm.baseUrl, apiKey: endpoints.crm.apiKey, ca: endpoints.crm.ca });
  return { asr: asrFactory, tts: ttsFactory, llm: () => llmFactory, crm: () => crmFactory };
}
