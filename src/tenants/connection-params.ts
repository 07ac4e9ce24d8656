import type { AgentConfig, WarmlineConfig } from '../config/index.js';
import type { TenantConfig } from '../config/schema-tenants.js';

export interface Account { apiKey: string; baseUrl: string }

/** What makes one call's upstream connections different from another's: the parts of a pool key. */
export interface ConnectionParams {
  asr: { language: string; model: string; account: Account | undefined };
  tts: { voiceId: string; account: Account | undefined };
  llm: { account: Account | undefined };
}

/**
 * The connection parameters of an agent of a tenant: its language, model and voice (or the
 * gateway's), and the tenant's own provider account where it brings one. Tenants whose parameters
 * come out the same share one pool.
 */
export function connectionParams(config: WarmlineConfig, agent: AgentConfig & { asrModel?: string }, tenant: TenantConfig | undefined): ConnectionParams {
  return {
    asr: { language: agent.language || config.upstreams.asr.language, model: agent.asrModel || config.upstreams.asr.model, account: tenant?.keys.asr },
    tts: { voiceId: agent.voiceId || config.upstreams.tts.voiceId, account: tenant?.keys.tts },
    llm: { account: tenant?.keys.llm },
  };
}

/** Every agent's parameters, the tenants' included: what the gateway warms at boot and after a reload. */
export function allConnectionParams(config: WarmlineConfig, tenants: readonly TenantConfig[]): ConnectionParams[] {
  return [
    ...Object.values(config.agents).map((a) => connectionParams(config, a, undefined)),
    ...tenants.flatMap((t) => [
      ...Object.values(t.agents).map((a) => connectionParams(config, a, t)),
      // A tenant's DIDs may name shared agents: with its own account they are its own pools.
      ...t.dids.filter((d) => !(d.agent in t.agents) && config.agents[d.agent]).map((d) => connectionParams(config, config.agents[d.agent]!, t)),
    ]),
  ];
}
