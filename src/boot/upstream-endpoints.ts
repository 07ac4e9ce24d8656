import type { WarmlineConfig, UpstreamName } from '../config/index.js';
import { ConfigInvalidError } from '../config/errors.js';

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

/** An upstream with neither URL nor key is served by the local upstreams; the caller did not start them. */
const localMissing = (name: UpstreamName) => new ConfigInvalidError({ issues: [{ key: `upstreams.${name}.baseUrl`, value: '', expected: 'a provider URL or apiKey (upstreams.<u> or each region\'s own): none is set and the local upstreams were not started', source: 'config' }] });

export function needsLocal(config: WarmlineConfig, name: UpstreamName): boolean {
  const u = config.upstreams[name];
  // Every region reaching it at an address of its own: upstreams.<name> is never used.
  if (config.regions.length > 0 && config.regions.every((r) => r[name] !== undefined)) return false;
  return u.apiKey === '' && u.baseUrl === '';
}

export function resolveEndpoint(config: WarmlineConfig, name: UpstreamName, local: LocalUrls | undefined): UpstreamEndpoint {
  const u = config.upstreams[name];
  if (needsLocal(config, name)) {
    if (!local) throw localMissing(name);
    return { baseUrl: local[name], apiKey: config.local.apiKey, ca: local.ca, local: true };
  }
  return { baseUrl: u.baseUrl || PUBLIC_URLS[name](config), apiKey: u.apiKey, local: false };
}

/** One region's endpoints, and which upstreams it reaches at an address of its own. */
export interface RegionEndpoints {
  /** '' when no regions are configured (the single-region gateway). */
  readonly name: string;
  readonly endpoints: Record<UpstreamName, UpstreamEndpoint>;
  /** Upstreams this region overrides; the others are reached as upstreams.* says (one pool shared by every region). */
  readonly regional: ReadonlySet<UpstreamName>;
}

const NAMES: readonly UpstreamName[] = ['asr', 'tts', 'llm', 'crm'];

/**
 * Each region's endpoints. A region's own `{baseUrl, apiKey}` for an upstream wins (its key
 * defaulting to upstreams.<u>.apiKey, else the local key when that upstream is local); what it
 * leaves out is reached as resolveEndpoint() says. With no regions: one unnamed region, as before.
 */
export function resolveRegions(config: WarmlineConfig, local: LocalUrls | undefined, readCa: (path: string) => string): RegionEndpoints[] {
  const shared = (n: UpstreamName): UpstreamEndpoint | undefined => (needsLocal(config, n) && !local ? undefined : resolveEndpoint(config, n, local));
  if (config.regions.length === 0) {
    return [{ name: '', endpoints: Object.fromEntries(NAMES.map((n) => [n, resolveEndpoint(config, n, local)])) as Record<UpstreamName, UpstreamEndpoint>, regional: new Set() }];
  }
  return config.regions.map((r) => {
    const ca = r.caFile ? readCa(r.caFile) : undefined;
    const regional = new Set(NAMES.filter((n) => r[n] !== undefined));
    const endpoints = Object.fromEntries(NAMES.map((n) => {
      const own = r[n];
      if (!own) {
        const e = shared(n);
        if (!e) throw localMissing(n);
        return [n, e];
      }
      const apiKey = own.apiKey || config.upstreams[n].apiKey || config.local.apiKey;
      return [n, { baseUrl: own.baseUrl, apiKey, ...(ca !== undefined && { ca }), local: false }];
    })) as Record<UpstreamName, UpstreamEndpoint>;
    return { name: r.name, endpoints, regional };
  });
}
