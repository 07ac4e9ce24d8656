import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Gateway } from '../../../src/boot/gateway.js';
import { makeCertificate } from '../../../src/local/tls-certificate.js';
import { leasesOut, startTestGateway } from '../../support/gateway.js';
import { writeSpeechWav } from '../../support/speech-wav.js';
import { until } from '../../support/wait.js';

interface PageState { state: string; error: string | undefined; transport: string | undefined; dtlsState: string | undefined }

/**
 * The demo beyond loopback (issue 11 item 5): a browser on another machine gets the microphone only
 * from an https:// page. `demo.test` is mapped to 127.0.0.1 inside Chromium, so the page's origin is
 * not loopback — exactly what a person on another machine sees — while no packet leaves this host.
 */
describe('browser: the demo page beyond loopback needs HTTPS, and works with it', function () {
  this.timeout(120_000);
  let dir: string;
  let browser: Browser;
  let certFile: string;
  let keyFile: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'warmline-https-'));
    const wav = await writeSpeechWav(join(dir, 'caller.wav'), 'Hello there.', 2, 2);
    const cert = await makeCertificate();
    certFile = join(dir, 'cert.pem');
    keyFile = join(dir, 'key.pem');
    writeFileSync(certFile, cert.cert);
    writeFileSync(keyFile, cert.key);
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection',
        '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`,
        '--host-resolver-rules=MAP demo.test 127.0.0.1', '--ignore-certificate-errors',
      ],
    });
  });
  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const read = (page: Page): Promise<PageState> => page.evaluate(() => (globalThis as unknown as { warmline: PageState }).warmline);
  const onDemoTest = (g: Gateway) => g.demoUrl!.replace('127.0.0.1', 'demo.test');

  it('over plain HTTP from a non-loopback origin, the page says the microphone needs HTTPS and touches nothing', async () => {
    const g = await startTestGateway();
    try {
      assert.match(g.demoUrl!, /^http:/);
      const page = await browser.newPage();
      await page.goto(onDemoTest(g));
      assert.equal(await page.evaluate('window.isSecureContext'), false, 'http://demo.test is not a secure context');
      await page.click('#call');
      await until(async () => (await read(page)).state === 'error', 'the page to explain');
      assert.match(await page.locator('#message').innerText(), /needs a secure page.*https:\/\//s);
      assert.equal(g.calls.view().active.length + g.calls.view().recent.length, 0, 'no call was placed');
      await page.close();
    } finally {
      await g.close();
    }
  });

  it('with server.certFile/keyFile the ops server answers HTTPS, the demo WebSocket is WSS, and the call connects', async () => {
    const g = await startTestGateway({ server: { certFile, keyFile }, sip: { ws: { enabled: false } } });
    try {
      assert.match(g.demoUrl!, /^https:\/\/127\.0\.0\.1:\d+\/demo\/$/);
      const page = await browser.newPage();
      await page.goto(onDemoTest(g));
      assert.equal(await page.evaluate('window.isSecureContext'), true);
      await page.click('#call');
      await until(async () => (await read(page)).state === 'connected', 'the call to connect', 30_000);
      await until(async () => (await read(page)).dtlsState === 'connected', 'DTLS connected', 15_000);
      assert.equal((await read(page)).transport, 'WSS', 'the WebSocket the page opened is WSS (an https page may not open ws://)');
      assert.equal(g.calls.view().active[0]?.media, 'webrtc');
      await page.click('#call');
      await until(() => g.calls.view().active.length === 0 && leasesOut(g) === 0, 'the call over and every lease back');
      await page.close();
    } finally {
      await g.close();
    }
  });
});
