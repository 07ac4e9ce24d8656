import { createHash } from 'node:crypto';
import type { WarmlineConfig, UpstreamName } from '../config/index.js';
import type { ConnectionFactory, PooledConnection } from '../pools/index.js';
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

/** A provider account other than the gateway's (a tenant's own key, src/tenants). */
export interface UpstreamAccount { apiKey: string; baseUrl: string }

/**
 * Factories per connection key: ASR by language and model, TTS by voice, and each by provider
 * account (agents and tenants may differ). Same parameters, same factory: one shared pool.
 */
export interface UpstreamFactories {
  asr(language: string, model?: string, account?: UpstreamAccount): ConnectionFactory<DeepgramConnection>;
  tts(voiceId: string, account?: UpstreamAccount): ConnectionFactory<ElevenLabsConnection>;
  llm(account?: UpstreamAccount): ConnectionFactory<LlmSession>;
  crm(): ConnectionFactory<CrmSession>;
}

/**
 * The endpoint an account reaches, and the pool-key suffix that keeps its connections apart:
 * a digest of the key (the key itself never appears in a pool key, which metrics and analytics show).
 * The gateway's own account adds nothing, so a tenant bringing the same key shares the pool.
 */
function accountOf(base: UpstreamEndpoint, account: UpstreamAccount | undefined): { endpoint: UpstreamEndpoint; suffix: string } {
  if (!account || (account.apiKey === base.apiKey && (account.baseUrl === '' || account.baseUrl === base.baseUrl))) return { endpoint: base, suffix: '' };
  const endpoint = { ...base, apiKey: account.apiKey, ...(account.baseUrl && { baseUrl: account.baseUrl, local: false }) };
  return { endpoint, suffix: `|acct:${createHash('sha256').update(account.apiKey).digest('hex').slice(0, 12)}` };
}

function withSuffix<C extends PooledConnection>(f: ConnectionFactory<C>, suffix: string): ConnectionFactory<C> {
  return suffix ? { upstream: f.upstream, key: f.key + suffix, open: (signal) => f.open(signal) } : f;
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
  const accounts = new Map<string, UpstreamAccount | undefined>();
  const keyed = (a: UpstreamAccount | undefined) => {
    const k = a ? `${a.baseUrl}|${createHash('sha256').update(a.apiKey).digest('hex')}` : '';
    accounts.set(k, a);
    return k;
  };
  const asrFactory = memo((k) => {
    const [language = '', model = '', acct = ''] = k.split('\n');
    const { endpoint, suffix } = accountOf(endpoints.asr, accounts.get(acct));
    return withSuffix(createDeepgramFactory({
      baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey, ca: endpoint.ca,
      model: model || asr.model, language, endpointingMs: asr.endpointingMs, utteranceEndMs: asr.utteranceEndMs,
      keepaliveMs: config.pools.asr.keepaliveMs || 4000,
      // The keepalive's WebSocket pong gets the pool's keepalive timeout, not a fixed 2 s of its own.
      pongTimeoutMs: config.pools.asr.keepaliveTimeoutMs,
    }), suffix);
  });
  const ttsFactory = memo((k) => {
    const [voiceId = '', acct = ''] = k.split('\n');
    const { endpoint, suffix } = accountOf(endpoints.tts, accounts.get(acct));
    return withSuffix(createElevenLabsFactory({
      baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey, ca: endpoint.ca,
      voiceId, modelId: tts.modelId, multiContext: tts.multiContext, contextsPerSocket: tts.contextsPerSocket,
      inactivityTimeoutS: tts.inactivityTimeoutS,
    }), suffix);
  });
  const llmFactory = memo((acct) => {
    const { endpoint, suffix } = accountOf(endpoints.llm, accounts.get(acct));
    return withSuffix(createLlmFactory({
      provider: llm.provider, baseUrl: endpoint.baseUrl, apiKey: endpoint.apiKey, ca: endpoint.ca,
      model: llm.model, streamsPerSession: llm.streamsPerSession,
    }), suffix);
  });
  const crmFactory = createCrmFactory({ baseUrl: endpoints.crm.baseUrl, apiKey: endpoints.crm.apiKey, ca: endpoints.crm.ca });
  return {
    asr: (language, model, account) => asrFactory(`${language}\n${model ?? ''}\n${keyed(account)}`),
    tts: (voiceId, account) => ttsFactory(`${voiceId}\n${keyed(account)}`),
    llm: (account) => llmFactory(keyed(account)),
    crm: () => crmFactory,
  };
}
