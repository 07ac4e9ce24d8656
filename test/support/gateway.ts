import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { loadConfig, type DeepPartial, type WarmlineConfig } from '../../src/config/index.js';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/boot/gateway.js';
import { createLogger } from '../../src/log.js';

let nextRange = 0;

/**
 * A whole gateway on loopback with its embedded defaults (local upstreams)
 * and ephemeral ports: SIP and HTTP on port 0, and an RTP range of its own
 * per gateway so several can run in one test process.
 */
export async function startTestGateway(overrides: DeepPartial<WarmlineConfig> = {}, options: Omit<Partial<GatewayOptions>, 'log' | 'registry'> = {}): Promise<Gateway> {
  const base = 31000 + ((process.pid * 7 + nextRange++ * 400) % 20000);
  const config = loadConfig({
    env: {},
    overrides: {
      ...overrides,
      server: { httpPort: 0, ...overrides.server },
      log: { level: (process.env.WARMLINE_TEST_LOG as WarmlineConfig['log']['level'] | undefined) ?? 'silent', ...overrides.log },
      sip: { port: 0, ...overrides.sip },
      // Tests get the stand-in's labels unless they ask for words (local.asrRecognizer: auto).
      local: { asrRecognizer: 'vad', ...overrides.local },
      media: { portMin: base, portMax: base + 399, ...overrides.media },
      // Test calls must not land in the developer's own history (data/analytics.sqlite).
      analytics: { dataDir: join(tmpdir(), 'warmline-test-analytics'), ...overrides.analytics },
    },
  });
  const gateway = await startGateway(config, { ...options, log: createLogger(config.log.level), registry: new Registry() });
  await gateway.whenReady();
  return gateway;
}

/** Every pool's leases are back: nothing a call took is still out. */
export function leasesOut(g: Gateway): number {
  let n = 0;
  for (const set of Object.values(g.pools)) for (const p of set.pools()) n += p.stats().inUse;
  return n;
}
