import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Gateway } from '../../../src/boot/gateway.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { until } from '../../support/wait.js';
import { WsSipCaller } from '../../../bench/support/ws-sip-caller.js';

interface Session { username: string; password: string; wsUrl: string; target: string; challenge: string }

/** Chromium's own offer from a fresh RTCPeerConnection with the fake microphone (strings: no DOM types here). */
const OFFER = `(async () => {
  const mic = await navigator.mediaDevices.getUserMedia({ audio: true });
  const pc = new RTCPeerConnection();
  globalThis.__pc = pc;
  pc.addTrack(mic.getAudioTracks()[0], mic);
  pc.ontrack = (e) => { globalThis.__remote = e.track; };
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') await new Promise((r) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r()));
  return pc.localDescription.sdp;
})()`;
const STATE = `(async () => {
  const pc = globalThis.__pc;
  let bytesIn = 0;
  (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') bytesIn = s.bytesReceived; });
  return { connection: pc.connectionState, bytesIn };
})()`;

describe('browser: media.webrtcFullIce auto with real Chromium (our agent checks its candidates, DTLS passive)', function () {
  this.timeout(60_000);
  let g: Gateway;
  let browser: Browser;
  let page: Page;

  before(async () => {
    g = await startTestGateway({}); // media.webrtcFullIce: auto, the default
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--allow-loopback-in-peer-connection', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream'],
    });
    page = await browser.newPage();
    // Loopback HTTP is a secure context: the fake microphone is granted and host candidates are addresses, not mDNS names.
    await page.goto(g.demoUrl!);
  });
  after(async () => {
    await browser?.close();
    await g?.close();
  });

  it('a browser SIP stack (User-Agent SIP.js/…): answers passive with the browser as DTLS client, connects, and carries audio both ways', async () => {
    const s = (await (await fetch(new URL('/demo/session', g.opsUrl), { method: 'POST' })).json()) as Session;
    const offer = (await page.evaluate(OFFER)) as string;
    assert.match(offer, /^a=candidate:\S+ 1 udp \d+ \d+\.\d+\.\d+\.\d+ /m, 'Chromium offered an address our agent can check');
    const caller = await WsSipCaller.connect(s.wsUrl, s.username, s.password);
    caller.userAgent = 'SIP.js/0.21.2';
    try {
      const r = await caller.invite(s.target, offer, 10_000, s.challenge);
      assert.equal(r.status, 200);
      assert.match(r.body, /^a=setup:passive\r?$/m, 'RFC 5763 §5: the browser sends the ClientHello once it holds our answer');
      await page.evaluate(`globalThis.__pc.setRemoteDescription({ type: 'answer', sdp: ${JSON.stringify(r.body)} })`);
      await until(async () => ((await page.evaluate(STATE)) as { connection: string }).connection === 'connected', 'DTLS connected in Chromium', 15_000);
      await until(async () => ((await page.evaluate(STATE)) as { bytesIn: number }).bytesIn > 2000, 'the greeting decrypted in Chromium', 20_000);
      await until(() => (g.calls.view().active[0]?.rtp?.received ?? 0) > 25, "the fake microphone's audio decrypted at the gateway");
      assert.equal((await caller.bye()).status, 200);
      await until(() => g.calls.view().active.length === 0 && leasesOut(g) === 0, 'call ended and leases back');
    } finally {
      caller.close();
    }
  });

  it('any other caller (no browser SIP stack named): answer-only ICE and an active answer, which every offerer takes', async () => {
    await page.reload();
    const s = (await (await fetch(new URL('/demo/session', g.opsUrl), { method: 'POST' })).json()) as Session;
    const offer = (await page.evaluate(OFFER)) as string;
    const caller = await WsSipCaller.connect(s.wsUrl, s.username, s.password);
    try {
      const r = await caller.invite(s.target, offer, 10_000, s.challenge);
      assert.equal(r.status, 200);
      assert.match(r.body, /^a=setup:active\r?$/m);
      assert.doesNotMatch(r.body, /^a=setup:passive/m);
      assert.equal((await caller.bye()).status, 200);
      await until(() => g.calls.view().active.length === 0 && leasesOut(g) === 0, 'call ended and leases back');
    } finally {
      caller.close();
    }
  });
});
