/**
 * bench:webrtc's gateway: the real startGateway with the demo on, in a process of its own so the
 * bench can pin it to one CPU and read its CPU time from /proc. Talks to the parent over IPC:
 * 'ready' once warm; on 'stats' it answers the pacer's figures and each call's RTP counters; on
 * 'close' it shuts down.
 */
import { Registry } from 'prom-client';
import { loadConfig, type DeepPartial, type WarmlineConfig } from '../../src/config/index.js';
import { startGateway } from '../../src/boot/gateway.js';
import { createLogger } from '../../src/log.js';

const overrides = JSON.parse(process.argv[2] ?? '{}') as DeepPartial<WarmlineConfig>;
const config = loadConfig({ env: {}, overrides });
const g = await startGateway(config, { log: createLogger(config.log.level), registry: new Registry() });
await g.whenReady();
process.send!({ type: 'ready', opsUrl: g.opsUrl });
process.on('message', (m: { type: string }) => {
  if (m.type === 'stats') {
    const view = g.calls.view();
    process.send!({ type: 'stats', pacer: g.pacer.stats(), active: view.active.length, rtp: view.active.map((c) => c.rtp) });
  } else if (m.type === 'close') {
    g.close().then(() => process.exit(0), () => process.exit(1));
  }
});
