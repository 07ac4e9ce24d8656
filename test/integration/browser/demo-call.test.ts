import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Gateway } from '../../../src/boot/gateway.js';
import { makeCertificate } from '../../../src/local/tls-certificate.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { writeSpeechWav } from '../../support/speech-wav.js';
import { until } from '../../support/wait.js';
import { pngIsBlank } from '../../support/png.js';
import { recognizePcm8k, wordsHeard } from '../../support/recognize.js';

/** What web/demo/app.ts exposes as window.warmline. */
interface PageState {
  state: string;
  error: string | undefined;
  callId: string | undefined;
  transport: string | undefined;
  dtlsState: string | undefined;
  srtpCipher: string | undefined;
  remoteEnergy: number;
  view: { turns: Array<{ text: string; marks: Record<string, number>; connectionsOpened: number; outcome: string }>; transcript: Array<{ from: string; text: string }> } | undefined;
}

export const ARTIFACTS = new URL('../../../test-artifacts/', import.meta.url);
const SENTENCE = 'I would like to book an appointment for tomorrow morning.';

function chromiumArgs(wav: string, fakeUi = true): string[] {
  return [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection',
    // Without the fake UI, headless Chromium answers the microphone prompt with a denial.
    ...(fakeUi ? ['--use-fake-ui-for-media-stream'] : []),
    '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`, '--autoplay-policy=no-user-gesture-required',
    // The SIP WebSocket is WSS with a certificate made for this test.
    '--ignore-certificate-errors',
  ];
}

/**
 * Records, in the page, what the person hears: the remote stream of #agent-audio through Web Audio
 * at 8 kHz. Strings, because the tests are compiled without the DOM's types.
 */
const START_RECORDING = `(() => {
  const el = document.getElementById('agent-audio');
  const ctx = new AudioContext({ sampleRate: 8000 });
  const src = ctx.createMediaStreamSource(el.srcObject);
  const proc = ctx.createScriptProcessor(4096, 1, 1);
  const chunks = [];
  proc.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
  src.connect(proc);
  proc.connect(ctx.destination);
  globalThis.__heard = chunks;
})()`;
/** The recording as base64 16-bit PCM. */
const TAKE_RECORDING = `(() => {
  const chunks = globalThis.__heard;
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const pcm = new Int16Array(n);
  let o = 0;
  for (const c of chunks) for (const v of c) pcm[o++] = Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
  const bytes = new Uint8Array(pcm.buffer);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
})()`;

function acquisitions(g: Gateway): number {
  let n = 0;
  for (const set of Object.values(g.pools)) for (const p of set.pools()) n += p.stats().acquisitions;
  return n;
}

describe('browser: a call from the demo page in real Chromium (sip.js over WSS, DTLS-SRTP)', function () {
  // pocketsphinx hears the caller (and the test checks what the caller heard): real time when idle, slower when busy.
  this.timeout(240_000);
  let dir: string;
  let g: Gateway;
  let browser: Browser;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'warmline-browser-'));
    const wav = await writeSpeechWav(join(dir, 'caller.wav'), SENTENCE, 7, 6);
    const cert = await makeCertificate();
    writeFileSync(join(dir, 'cert.pem'), cert.cert);
    writeFileSync(join(dir, 'key.pem'), cert.key);
    g = await startTestGateway({ local: { asrRecognizer: 'auto' }, sip: { ws: { enabled: true, port: 0, certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') } } });
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: chromiumArgs(wav) });
  });

  after(async () => {
    await browser?.close();
    await g?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // Runs in the page, where globalThis is the window.
  const read = (page: Page): Promise<PageState> => page.evaluate(() => (globalThis as unknown as { warmline: PageState }).warmline);

  it('connects over WSS with DTLS-SRTP, the greeting is heard, a spoken turn and a DTMF digit reach the agent, and hang-up returns everything', async () => {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(g.demoUrl!);
    const before = acquisitions(g);
    await page.click('#call');

    await until(async () => (await read(page)).state === 'connected', 'the call to connect', 20_000);
    await page.evaluate(START_RECORDING);
    await until(async () => (await read(page)).dtlsState === 'connected', 'DTLS connected in the browser', 10_000);
    let s = await read(page);
    assert.equal(s.transport, 'WSS');
    assert.match(s.srtpCipher ?? '', /AES/, `SRTP cipher negotiated: ${s.srtpCipher}`);
    const call = g.calls.view().active[0]!;
    assert.equal(call.media, 'webrtc');
    assert.equal(call.codec, 'PCMU', 'G.711 answered, so the caller reaches the ASR untranscoded');
    assert.ok(acquisitions(g) > before, 'the agent leased its upstreams from the warm pools');

    // The greeting: decoded audio energy of the remote track, measured in the page.
    await until(async () => (await read(page)).remoteEnergy > 1e-3, 'the greeting to be heard', 20_000);

    // The fake microphone speaks after 7 s of silence: a turn with a transcript and a latency bar.
    await until(async () => {
      const v = (await read(page)).view;
      return !!v?.turns.some((t) => t.text !== 'greeting' && !t.text.startsWith('[dtmf') && t.marks.asrFinal !== undefined && t.marks.firstRtpOut !== undefined);
    }, 'a spoken turn with its timeline', 90_000);
    await until(async () => (await page.locator('#turns .turn .bar span').count()) >= 3, 'the latency bar drawn');
    // The bar's last mark is the audio played in the browser: the gateway's first RTP out plus what the page measured.
    await until(async () => (await page.locator('#turns .turn .bar span.seg-played').count()) >= 1, 'the played mark drawn');
    const toEar = await page.evaluate('globalThis.warmline.toEarMs') as number;
    assert.ok(toEar > 0 && toEar < 2000, `network + jitter buffer + playout measured by the browser: ${toEar} ms`);
    s = await read(page);
    const spoken = s.view!.turns.find((t) => t.text !== 'greeting' && !t.text.startsWith('[dtmf'))!;
    assert.equal(spoken.connectionsOpened, 0, 'warm: no connection opened inside the turn');
    assert.ok(s.view!.transcript.some((t) => t.from === 'caller'), 'the caller side of the transcript');
    assert.ok(s.view!.transcript.some((t) => t.from === 'agent'), 'the agent side of the transcript');
    assert.ok((await page.locator('#transcript li.caller').count()) >= 1);
    // Words, not just energy (issue 11 item 8): the agent heard the sentence the fake microphone spoke…
    const said = wordsHeard(spoken.text, ['like', 'book', 'appointment', 'tomorrow', 'morning']);
    assert.ok(said.length >= 2, `words of "${SENTENCE}" in the turn's transcript "${spoken.text}"`);
    // …and the person heard the agent's words: the page's recording of the remote track, recognized.
    await until(async () => (await read(page)).view?.turns.at(-1)?.outcome !== 'open', 'the reply to finish', 30_000);
    // The reply's synthesis is done; its audio plays out in real time: four more seconds recorded (512 ms chunks).
    const recorded = async () => await page.evaluate('globalThis.__heard.length') as number;
    const chunks = await recorded();
    await until(async () => (await recorded()) >= chunks + 8, 'the reply played out');
    const pcm = Buffer.from(await page.evaluate(TAKE_RECORDING) as string, 'base64');
    const heardText = await recognizePcm8k(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length >> 1));
    const agentWords = wordsHeard(heardText, ['thanks', 'calling', 'receptionist', 'how', 'can', 'you', 'help', 'today', 'booked', 'found', 'details', 'anything', 'else', 'with']);
    assert.ok(agentWords.length >= 3, `the agent's words in what the browser played: "${heardText}"`);

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = await page.screenshot({ path: new URL('demo-mid-call.png', ARTIFACTS).pathname, fullPage: true });
    assert.equal(pngIsBlank(shot), false, 'the mid-call screenshot shows something');

    // RFC 4733 from the browser's RTCDTMFSender to the agent.
    await page.keyboard.press('7');
    await until(async () => !!(await read(page)).view?.turns.some((t) => t.text === '[dtmf 7]'), 'the DTMF digit at the agent', 15_000);

    const port = g.calls.view().active[0]!.localPort!;
    await page.click('#call');
    await until(async () => (await read(page)).state === 'ended', 'the page to show the call ended');
    await until(() => g.calls.view().active.length === 0, 'the call to end at the gateway');
    assert.equal(g.calls.view().recent[0]!.endReason, 'bye');
    await until(() => leasesOut(g) === 0, 'every upstream lease back');
    assert.equal(g.pacer.stats().streams, 0, 'the pacer stream removed');
    // The call's UDP port is free again: the WebRTC session's socket is closed.
    await until(async () => {
      const sock = dgram.createSocket('udp4');
      const ok = await new Promise<boolean>((resolve) => {
        sock.once('error', () => resolve(false));
        sock.bind(port, '127.0.0.1', () => resolve(true));
      });
      sock.close();
      return ok;
    }, `port ${port} released`);
    assert.deepEqual(pageErrors, []);
    await page.close();
  });

  it('a browser with no or unknown credentials is refused (401/403) and no upstream is touched', async () => {
    const real = await (await fetch(new URL('/demo/session', g.opsUrl), { method: 'POST' })).json() as Record<string, string>;
    for (const [creds, expected] of [[{ username: '', password: '' }, /40[13]/], [{ username: 'web-nobody', password: 'guess' }, /403/]] as const) {
      const page = await browser.newPage();
      await page.route('**/demo/session', (route) => route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ ...real, ...creds }) }));
      await page.goto(g.demoUrl!);
      const before = acquisitions(g);
      await page.click('#call');
      await until(async () => (await read(page)).state === 'error', 'the page to report the refusal', 15_000);
      const s = await read(page);
      assert.match(s.error ?? '', expected);
      assert.match(await page.locator('#message').innerText(), /refused the call/);
      assert.equal(acquisitions(g), before, 'no upstream leased for a refused browser');
      assert.equal(g.calls.view().active.length, 0);
      await page.close();
    }
  });

  it('tells the person why when the microphone is denied, the gateway is unreachable, or the demo is full', async () => {
    const denied = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', headless: true, args: chromiumArgs(join(dir, 'caller.wav'), false) });
    try {
      const page = await denied.newPage();
      await page.goto(g.demoUrl!);
      await page.click('#call');
      await until(async () => (await read(page)).state === 'error', 'the page to report the denied microphone');
      assert.match(await page.locator('#message').innerText(), /Microphone access was denied/);
    } finally {
      await denied.close();
    }
    for (const [fulfil, expected] of [
      [{ status: 503, body: '{"error":"at-capacity"}' }, /at capacity/],
      ['abort', /unreachable/],
    ] as const) {
      const page = await browser.newPage();
      await page.route('**/demo/session', (route) => (fulfil === 'abort' ? route.abort('connectionrefused') : route.fulfill({ ...fulfil, contentType: 'application/json' })));
      await page.goto(g.demoUrl!);
      await page.click('#call');
      await until(async () => (await read(page)).state === 'error', 'the page to report the refusal');
      assert.match(await page.locator('#message').innerText(), expected);
      assert.equal(await page.locator('#call').innerText(), 'Call', 'ready to try again');
      await page.close();
    }
  });
});
