import { isIP } from 'node:net';
import { z } from 'zod';
import { checkRegistrationTls, registrationTlsSchema, sipTlsSchema } from './schema-tls.js';
import { transferSchema } from './schema-transfer.js';
import { srtpSchema } from './schema-srtp.js';
import { tenantsSchema } from './schema-tenants.js';
import { outboundSchema } from './schema-outbound.js';
import { checkRegions, defaultRoutingSchema, regionName, regionSchema, routingSchema } from './schema-regions.js';

/**
 * The shape of a Warmline configuration. Defaults are NOT here: they live in
 * one place, config/default.yaml, which every loaded configuration starts from.
 * Objects are strict so that a misspelt key stops the start instead of being
 * silently ignored.
 */

const port = z.number().int().min(0).max(65535);
const ms = z.number().int().min(0);
const positiveMs = z.number().int().min(1);
// A host name or an IP address (no port, no scheme); '' means "the bind address".
const advertise = z.string().refine((h) => h === '' || isIP(h) !== 0 || /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(h), 'a host name or an IP address, or empty');
const url = z.union([z.literal(''), z.url({ protocol: /^(wss?|https?)$/ })]);

const poolSchema = z.strictObject({
  min: z.number().int().min(0),
  max: z.number().int().min(1),
  headroom: z.number().min(0).max(10),
  acquireTimeoutMs: positiveMs,
  maxAgeMs: positiveMs,
  keepaliveMs: ms,
  keepaliveTimeoutMs: positiveMs,
  sizingWindowMs: positiveMs,
}).refine((p) => p.min <= p.max, { message: 'min must not exceed max', path: ['min'] });

const agentSchema = z.strictObject({
  greeting: z.string(),
  systemPrompt: z.string().min(1),
  voiceId: z.string(),
  language: z.string(),
  tools: z.array(z.enum(['lookup_caller', 'book_appointment', 'transfer_call'])),
});

const routeSchema = z.strictObject({
  did: z.string().regex(/^(\*|\+?[0-9]+\*?)$/, 'a number, a prefix ending in *, or *'),
  agent: z.string().min(1),
  /** How this DID's calls pick their region (schema-regions.ts); absent: the top-level routing. */
  routing: routingSchema.optional(),
});

export const configSchema = z.strictObject({
  server: z.strictObject({
    host: z.string().min(1),
    httpPort: port,
    // HTTPS for the ops server (demo page, dashboard, API): browsers give the microphone only to a secure context.
    certFile: z.string(),
    keyFile: z.string(),
  }).refine((s) => (s.certFile === '') === (s.keyFile === ''), { message: 'both certFile and keyFile (HTTPS), or neither (HTTP)', path: ['certFile'] }),
  ops: z.strictObject({
    tokens: z.array(z.strictObject({
      name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (it names the caller in the logs)'),
      // Short tokens can be guessed; 16 characters of a random string is the floor.
      token: z.string().min(16, 'at least 16 characters'),
    })).refine((t) => new Set(t.map((x) => x.name)).size === t.length, 'token names must be unique'),
    probes: z.enum(['loopback', 'open', 'token']),
    probesPort: port,
  }),
  log: z.strictObject({
    level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  }),
  upstreams: z.strictObject({
    asr: z.strictObject({
      provider: z.literal('deepgram'),
      baseUrl: url,
      apiKey: z.string(),
      model: z.string().min(1),
      language: z.string().min(1),
      endpointingMs: ms,
      utteranceEndMs: z.number().int().min(1000),
      concurrencyCap: z.number().int().min(0),
    }),
    tts: z.strictObject({
      provider: z.literal('elevenlabs'),
      baseUrl: url,
      apiKey: z.string(),
      voiceId: z.string().min(1),
      modelId: z.string().min(1),
      multiContext: z.boolean(),
      contextsPerSocket: z.number().int().min(1).max(5),
      inactivityTimeoutS: z.number().int().min(5).max(180),
      concurrencyCap: z.number().int().min(0),
    }),
    llm: z.strictObject({
      provider: z.enum(['openai', 'anthropic']),
      baseUrl: url,
      apiKey: z.string(),
      model: z.string().min(1),
      streamsPerSession: z.number().int().min(1),
      concurrencyCap: z.number().int().min(0),
    }),
    crm: z.strictObject({
      baseUrl: url,
      apiKey: z.string(),
      concurrencyCap: z.number().int().min(0),
    }),
  }),
  pools: z.strictObject({
    backoff: z.strictObject({
      initialMs: positiveMs,
      maxMs: positiveMs,
      factor: z.number().min(1),
    }),
    idleToZeroS: z.number().int().min(0),
    /** Weeks of analytics history a zeroed key's demand is learned from (0: calls alone bring it back). */
    historyWeeks: z.number().int().min(0).max(52),
    /** How long before an expected peak a zeroed key is warm again. */
    historyLeadS: z.number().int().min(1),
    asr: poolSchema,
    tts: poolSchema,
    llm: poolSchema,
    crm: poolSchema,
  }),
  local: z.strictObject({
    host: z.string().min(1),
    apiKey: z.string().min(1),
    handshakeDelayMs: ms,
    firstByteDelayMs: ms,
    asrIdleTimeoutMs: positiveMs,
    ttsInactivityTimeoutMs: positiveMs,
    asrRecognizer: z.enum(['auto', 'vad']),
    chaos: z.strictObject({
      dropPerSecond: z.number().min(0),
      stallRate: z.number().min(0).max(1),
      errorRate: z.number().min(0).max(1),
      slowFirstByteMs: ms,
      refusePerSecond: z.number().min(0),
      refuseForMs: ms,
    }),
  }),
  leases: z.strictObject({
    store: z.enum(['memory', 'redis']),
    redisUrl: z.union([z.literal(''), z.url({ protocol: /^rediss?$/ })]),
    redisPassword: z.string(),
    redisTlsCaFile: z.string(),
    ttlMs: z.number().int().min(500),
    replicaId: z.string(),
    localShare: z.number().gt(0).max(1),
  }).refine((l) => l.store !== 'redis' || l.redisUrl !== '', {
    message: 'a redis lease store needs leases.redisUrl (or REDIS_URL)',
    path: ['redisUrl'],
  }),
  sip: z.strictObject({
    host: z.string().min(1),
    port,
    advertise,
    dnsServers: z.array(z.string().refine((s) => isIP(s.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([\d.]+):\d+$/, '$1')) !== 0, 'an IP address, optionally with :port ([v6]:port)')),
    transports: z.array(z.enum(['udp', 'tcp'])).min(1).refine((t) => new Set(t).size === t.length, 'each transport once'),
    udpReceiveBufferBytes: z.number().int().min(0),
    maxConnectionsPerSource: z.number().int().min(1),
    tls: sipTlsSchema,
    ws: z.strictObject({ enabled: z.boolean(), port, certFile: z.string(), keyFile: z.string() })
      .refine((w) => (w.certFile === '') === (w.keyFile === ''), { message: 'both certFile and keyFile (WSS), or neither (WS)', path: ['certFile'] }),
    registerHost: z.string(),
    registerPort: port,
    carriers: z.array(z.string().min(1)),
    balancers: z.array(z.string().refine((s) => {
      const [addr, bits] = s.split('/');
      const fam = isIP(addr ?? '');
      return fam !== 0 && (bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (fam === 4 ? 32 : 128)));
    }, 'an IP address or CIDR')),
    rate: z.strictObject({
      perSecond: z.number().positive(),
      burst: z.number().int().min(1),
    }),
    timers: z.strictObject({
      t1Ms: z.number().int().min(1),
      t2Ms: z.number().int().min(1),
      t4Ms: z.number().int().min(1),
    }).refine((t) => t.t2Ms >= t.t1Ms, { message: 't2Ms must be at least t1Ms', path: ['t2Ms'] }),
    minSessionExpiresS: z.number().int().min(1),
  }),
  media: z.strictObject({
    host: z.string().min(1),
    advertise,
    portMin: z.number().int().min(1024).max(65535),
    portMax: z.number().int().min(1024).max(65535),
    rtpTimeoutMs: ms,
    codecs: z.array(z.enum(['PCMU', 'PCMA'])).min(1),
    webrtcFullIce: z.union([z.boolean(), z.literal('auto')]),
    srtp: srtpSchema,
  }).refine((m) => m.portMax > m.portMin, { message: 'portMax must be above portMin', path: ['portMax'] }),
  calls: z.strictObject({
    maxConcurrent: z.number().int().min(1),
    drainGraceMs: ms,
    overload: z.strictObject({
      maxLoopDelayMs: ms,
      retryAfterS: z.number().int().min(1).max(3600),
    }),
  }),
  outbound: outboundSchema,
  analytics: z.strictObject({
    enabled: z.boolean(),
    url: z.union([z.literal(''), z.string().regex(/^(postgres(ql)?:\/\/.+|sqlite:.+)$/, 'postgres://user@host:port/db, or sqlite:FILE')]),
    dataDir: z.string().min(1),
    schema: z.union([z.literal(''), z.string().regex(/^[a-z_][a-z0-9_]*$/, 'a lower-case SQL identifier')]),
    retentionDays: z.number().gt(0),
    queueMax: z.number().int().min(1),
    batchMax: z.number().int().min(1),
    flushMs: positiveMs,
    snapshotMs: z.number().int().min(100),
  }),
  demo: z.strictObject({
    enabled: z.boolean(),
    did: z.string().min(1),
    maxConcurrentCalls: z.number().int().min(0),
    credentialTtlS: z.number().int().min(10).max(3600),
    sessionsPerMinute: z.number().int().min(1),
  }),
  registrations: z.array(z.strictObject({
    id: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . -'),
    user: z.string().min(1),
    domain: z.string().min(1),
    registrar: z.strictObject({
      host: z.string().min(1),
      port: port.optional(),
      transport: z.enum(['udp', 'tcp', 'tls']).optional(),
    }),
    username: z.string().optional(),
    password: z.string().optional(),
    realm: z.string().optional(),
    expires: z.number().int().min(60).optional(),
    tls: registrationTlsSchema.optional(),
  })).refine((r) => new Set(r.map((a) => a.id)).size === r.length, 'registration ids must be unique'),
  agents: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/), agentSchema),
  routes: z.array(routeSchema).min(1),
  transfer: transferSchema,
  tenants: tenantsSchema,
  region: z.union([z.literal(''), regionName]),
  regions: z.array(regionSchema),
  routing: defaultRoutingSchema,
}).superRefine((c, ctx) => {
  checkRegistrationTls(c, ctx);
  checkRegions(c, ctx);
  // A CRM has no public default address: a key without a URL cannot be used.
  if (c.upstreams.crm.apiKey !== '' && c.upstreams.crm.baseUrl === '') {
    ctx.addIssue({ code: 'custom', path: ['upstreams', 'crm', 'baseUrl'], message: 'the CRM base URL (CRM_BASE_URL) when upstreams.crm.apiKey is set' });
  }
  c.routes.forEach((r, i) => {
    if (!(r.agent in c.agents)) {
      ctx.addIssue({ code: 'custom', path: ['routes', i, 'agent'], message: `one of the agents defined under agents (${Object.keys(c.agents).join(', ')})` });
    }
  });
});

export type WarmlineConfig = z.infer<typeof configSchema>;
export type PoolConfig = WarmlineConfig['pools']['asr'];
export type AgentConfig = WarmlineConfig['agents'][string];
export type RouteConfig = WarmlineConfig['routes'][number];
export type SipConfig = WarmlineConfig['sip'];
export type RegistrationConfig = WarmlineConfig['registrations'][number];
export type MediaConfig = WarmlineConfig['media'];
export type AnalyticsConfig = WarmlineConfig['analytics'];
export type DemoConfig = WarmlineConfig['demo'];
export type UpstreamName = keyof WarmlineConfig['upstreams'];
export const upstreamNames: readonly UpstreamName[] = ['asr', 'tts', 'llm', 'crm'];
