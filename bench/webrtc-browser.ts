/**
 * bench:webrtc:browser — setup time of real Chromium calls, the gateway answering in its default
 * ICE mode (answer-only ICE, DTLS active) and with `media.webrtcFullIce` (checks the browser's
 * candidates at once, DTLS passive), calls alternating between two gateways in this one process so both modes
 * see the same load.
 *
 * Each call: a fresh RTCPeerConnection in one Chromium page (a fake microphone's track, Chromium's
 * own offer with its candidates gathered), SIP over WebSocket from Node with the credentials and
 * challenge POST /demo/session hands out (no 401), the 200 OK's answer given to the page. setup =
 * INVITE sent → the page's connectionState 'connected' (DTLS up), on Node's clock (the page calls
 * back through an exposed function: the same few ms in both modes). Hung up before the next call.
 * One warm-up call per gateway first, not counted.
 *
 * Options: --calls N per mode (default 20), --json. Loopback only; bounded by N.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { chromium } from 'playwright-core';
import { loadConfig, type DeepPartial, type WarmlineConfig } from '../src/config/index.js';
import { startGateway, type Gateway } from '../src/boot/gateway.js';
import { createLogger } from '../src/log.js';
import { WsSipCaller } from './support/ws-sip-caller.js';

const arg = (name: string, d: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const CALLS = arg('calls', 20);
const JSON_OUT = process.argv.includes('--json');

const q = (xs: number[], p: number): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const round = (x: number): number => Math.round(x * 10) / 10;

async function main(): Promise<void> {
  // The embedded defaults: each gateway starts its own local upstreams, as `npm start` does.
  const overrides: DeepPartial<WarmlineConfig> = {
    server: { httpPort: 0 },
    log: { level: 'error' },
    sip: { port: 0 },
    media: { rtpTimeoutMs: 0 },
    local: { asrRecognizer: 'vad' },
    analytics: { dataDir: join(tmpdir(), 'warmline-bench-analytics') },
    demo: { maxConcurrentCalls: 2, sessionsPerMinute: CALLS * 4 + 10 },
    agents: { bench: { greeting: 'Hello.', systemPrompt: 'Be brief.', voiceId: '', language: '', tools: [] } },
    routes: [{ did: '*', agent: 'bench' }],
  };
  const gateways: Record<'answer-only' | 'full', Gateway> = {} as Record<'answer-only' | 'full', Gateway>;
  for (const [mode, on, base] of [['answer-only', false, 53000], ['full', true, 53400]] as const) {
    const config = loadConfig({ env: {}, overrides: { ...overrides, media: { ...overrides.media, webrtcFullIce: on, portMin: base, portMax: base + 199 } } });
    gateways[mode] = await startGateway(config, { log: createLogger(config.log.level), registry: new Registry() });
    await gateways[mode].whenReady();
  }
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--allow-loopback-in-peer-connection', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
  });
  const page = await browser.newPage();
  // A secure context (loopback HTTP) so the fake microphone is granted and host candidates are not mDNS names.
  await page.goto(gateways['answer-only'].demoUrl!);
  let connectedAt = 0;
  let connected: () => void = () => undefined;
  await page.exposeFunction('__connected', () => {
    connectedAt = performance.now();
    connected();
  });
  await page.evaluate(`(async () => { globalThis.__mic = await navigator.mediaDevices.getUserMedia({ audio: true }); })()`);

  const setups: Record<string, number[]> = { 'answer-only': [], full: [] };
  const failures: Record<string, number> = { 'answer-only': 0, full: 0 };
  // i = -2, -1: one warm-up call per gateway (the page's first peer connection, each gateway's
  // first WebRTC call), as bench:webrtc makes one; not counted.
  for (let i = -2; i < CALLS * 2; i++) {
    const mode = (i + 2) % 2 === 0 ? 'answer-only' : 'full';
    const counted = i >= 0;
    const g = gateways[mode];
    const s = (await (await fetch(new URL('/demo/session', g.opsUrl), { method: 'POST' })).json()) as { username: string; password: string; wsUrl: string; target: string; challenge: string };
    const offer = (await page.evaluate(`(async () => {
      const pc = new RTCPeerConnection();
      globalThis.__pc?.close();
      globalThis.__pc = pc;
      pc.addTrack(globalThis.__mic.getAudioTracks()[0], globalThis.__mic);
      pc.onconnectionstatechange = () => { if (pc.connectionState === 'connected') globalThis.__connected(); };
      await pc.setLocalDescription(await pc.createOffer());
      if (pc.iceGatheringState !== 'complete') await new Promise((r) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r()));
      return pc.localDescription.sdp;
    })()`)) as string;
    const caller = await WsSipCaller.connect(s.wsUrl, s.username, s.password);
    const up = new Promise<void>((resolve) => { connected = resolve; });
    const t0 = performance.now();
    const r = await caller.invite(s.target, offer, 10_000, s.challenge);
    if (r.status !== 200) {
      if (counted) failures[mode]!++;
      caller.close();
      continue;
    }
    await page.evaluate(`globalThis.__pc.setRemoteDescription({ type: 'answer', sdp: ${JSON.stringify(r.body)} })`);
    const ok = await Promise.race([up.then(() => true), new Promise<boolean>((res) => setTimeout(() => res(false), 5000))]);
    if (!counted) {
      /* warm-up */
    } else if (ok) setups[mode]!.push(connectedAt - t0);
    else failures[mode]!++;
    await caller.bye().catch(() => undefined);
    caller.close();
    await page.evaluate('globalThis.__pc.close()');
  }
  await browser.close();
  for (const g of Object.values(gateways)) await g.close();

  const result = {
    callers: 'chromium',
    calls_per_mode: CALLS,
    rows: (['answer-only', 'full'] as const).map((mode) => ({
      ice_mode: mode,
      calls: setups[mode]!.length,
      failed: failures[mode],
      setup_p50_ms: round(q(setups[mode]!, 0.5)),
      setup_p95_ms: round(q(setups[mode]!, 0.95)),
      setup_min_ms: round(Math.min(...setups[mode]!)),
      // In call order, to show where a slow one fell.
      setups_ms: setups[mode]!.map(round),
    })),
  };
  process.stdout.write(`bench:webrtc:browser — ${CALLS} Chromium calls per ICE mode, alternating\n`);
  for (const r of result.rows) process.stdout.write(`  ${r.ice_mode.padEnd(12)} calls ${r.calls}  failed ${r.failed}  setup p50 ${r.setup_p50_ms} ms  p95 ${r.setup_p95_ms} ms  min ${r.setup_min_ms} ms\n`);
  if (JSON_OUT) process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:webrtc:browser failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
