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
import { WebRtcEndpoint } from '../../media/index.js';
import { AgentSession } from '../../src/agent/agent-session.js';
import { WeriftEndpoint } from './werift-endpoint.js';

// --stack werift: the gateway boots with werift answering its browser legs (same face, bench only).
const stack = process.argv[3] ?? 'node-datachannel';
if (stack === 'werift') (WebRtcEndpoint as unknown as { create: typeof WeriftEndpoint.create }).create = WeriftEndpoint.create;

// The gateway's side of each call's setup, timed where it happens: answer() (peer connection and
// offer, then our candidate) and answer made → DTLS-SRTP up at the gateway.
const phases: Array<{ createMs: number; gatherMs: number; connectedMs?: number }> = [];
const agentStarts: number[] = [];
for (const E of [WebRtcEndpoint, WeriftEndpoint] as Array<{ prototype: Pick<WebRtcEndpoint, 'answer'> }>) {
  const answer = E.prototype.answer;
  E.prototype.answer = async function (this: WebRtcEndpoint, ...a: Parameters<typeof answer>) {
    const r = await answer.apply(this, a);
    const p: { createMs: number; gatherMs: number; connectedMs?: number } = { ...r.timings };
    phases.push(p);
    r.session.once('connected', (ms: number) => { p.connectedMs = ms; });
    return r;
  };
}
// The agent's start (an ASR stream from the warm pool) also runs before the 200 OK.
const start = AgentSession.prototype.start;
AgentSession.prototype.start = async function (this: AgentSession) {
  const t0 = performance.now();
  await start.call(this);
  agentStarts.push(performance.now() - t0);
};

const overrides = JSON.parse(process.argv[2] ?? '{}') as DeepPartial<WarmlineConfig>;
const config = loadConfig({ env: {}, overrides });
const g = await startGateway(config, { log: createLogger(config.log.level), registry: new Registry() });
await g.whenReady();
process.send!({ type: 'ready', opsUrl: g.opsUrl });
process.on('message', (m: { type: string }) => {
  if (m.type === 'stats') {
    const view = g.calls.view();
    process.send!({ type: 'stats', pacer: g.pacer.stats(), active: view.active.length, rtp: view.active.map((c) => c.rtp), phases: phases.splice(0), agentStarts: agentStarts.splice(0) });
  } else if (m.type === 'close') {
    g.close().then(() => process.exit(0), () => process.exit(1));
  }
});
