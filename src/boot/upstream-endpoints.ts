import type { WarmlineConfig, UpstreamName } from '../config/index.js';

/** Where one upstream is reached, and with what key. */
export interface UpstreamEndpoint {
  readonly baseUrl: string;
  readonly apiKey: string;
  /** PEM to trust: set for the local upstreams' self-signed certificate. */
  readonly ca?: string;
  readonly local: boolean;
}

export interface LocalUrls {
  readonly asr: string;
  readonly tts: string;
  readonly llm: string;
  readonly crm: string;
  readonly ca: string;
}

/**
 * An upstream with neither a key nor a base URL is served locally; one with a
 * key and no URL goes to the provider's public endpoint. Mixed setups (real
 * LLM, local CRM) are allowed.
 */
const PUBLIC_URLS: Record<UpstreamName, (c: WarmlineConfig) => string> = {
  asr: () => 'wss://api.deepgram.com',
  tts: () => 'wss://api.elevenlabs.io',
  llm: (c) => (c.upstreams.llm.provider === 'anthropic' ? 'https://api.anthropic.com' : 'https://api.openai.com'),
  crm: () => '',
};

export function needsLocal(config: WarmlineConfig, name: UpstreamName): boolean {
  const u = config.upstreams[name];
  return u.apiKey === '' && u.baseUrl === '';
}

export function resolveEndpoint(config: WarmlineConfig, name: UpstreamName, local: LocalUrls | undefined): UpstreamEndpoint {
  const u = config.upstreams[name];
  if (needsLocal(config, name)) {
    if (!local) throw new Error(`upstream ${name} needs the local upstreams, which were not started`);
    return { baseUrl: local[name], apiKey: config.local.apiKey, ca: local.ca, local: true };
  }
  return { baseUrl: u.baseUrl || PUBLIC_URLS[name](config), apiKey: u.apiKey, local: false };
}
