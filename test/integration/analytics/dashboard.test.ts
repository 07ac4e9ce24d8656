import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway } from '../../support/gateway.js';
import { until } from '../../support/wait.js';
import { placeCalls } from './helpers.js';
import { inkOf, openBrowser, screenshot } from './browser.js';

/** The live dashboard in Debian's Chromium, as an operator opens it. */
describe('analytics: the live dashboard in headless Chromium', function () {
  this.timeout(120_000);
  let dir: string;
  let g: Gateway;
  let browser: Awaited<ReturnType<typeof openBrowser>>;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wl-dash-'));
    // A provider cap on ASR and TTS, so the page has cap slots to draw.
    g = await startTestGateway({ analytics: { url: `sqlite:${join(dir, 'a.sqlite')}`, flushMs: 200 }, upstreams: { asr: { concurrencyCap: 10 }, tts: { concurrencyCap: 4 } } });
    browser = await openBrowser();
  });
  after(async () => {
    await browser?.close();
    await g?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renders its charts live, and after a call shows it in calls per minute and in a turn waterfall; the screenshot is not blank', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${g.opsUrl}/dashboard/`);
    // Pool charts come from the first samples, before any call.
    await page.waitForSelector('#pool-asr[data-points]:not([data-points="0"])', { timeout: 20_000 });
    assert.ok(Number(await page.getAttribute('#pool-asr', 'data-max')) >= g.config.pools.asr.min, 'the asr pool chart shows its warm floor');
    await placeCalls(g.sip, 1, 6000);
    await until(() => g.calls.view().recent.length === 1, 'the call ended');
    await page.waitForFunction("Number(document.getElementById('chart-calls')?.dataset.max) >= 1", undefined, { timeout: 20_000 });
    await page.waitForSelector('#waterfall svg', { timeout: 20_000 });
    const bars = Number(await page.getAttribute('#waterfall svg', 'data-bars'));
    assert.ok(bars >= 1, `waterfall bars: ${bars}`);
    assert.match(await page.textContent('#waterfall') ?? '', /turn 1 \(first\)/);
    assert.match(await page.textContent('#calls') ?? '', /15550001000 → receptionist/);
    assert.match(await page.textContent('#caps') ?? '', /asr-cap\s*global/);
    for (const id of ['chart-calls', 'chart-p95', 'chart-reopen', 'chart-caps', 'pool-tts', 'pool-llm']) {
      assert.ok(Number(await page.getAttribute(`#${id}`, 'data-points')) > 0, `${id} has points`);
    }
    assert.match(await page.textContent('#status') ?? '', /live .* store sqlite .* dropped 0/);
    const png = await screenshot(page, 'dashboard.png');
    const ink = await inkOf(page, png);
    assert.ok(ink.colours > 50 && ink.inked > 0.05, `screenshot ${png} looks blank: ${JSON.stringify(ink)}`);
    assert.deepEqual(errors, [], 'no script error on the page');
  });
});
