import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pathToFileURL } from 'node:url';
import { startTestGateway } from '../../support/gateway.js';
import { placeCalls } from './helpers.js';
import { ARTIFACTS, inkOf, openBrowser, screenshot } from './browser.js';

const run = promisify(execFile);

/** `npm run report` over a store a gateway filled with a few sipp calls, opened in Chromium. */
describe('analytics: the HTML report', function () {
  this.timeout(150_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'wl-report-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is built after a few calls, self-contained, and every chart it draws is non-empty in Chromium', async () => {
    const db = join(dir, 'a.sqlite');
    const g = await startTestGateway({ analytics: { url: `sqlite:${db}`, snapshotMs: 1000 } });
    try {
      // Two that let the greeting play out (first turns with every mark), one that talks over it (later turns).
      await placeCalls(g.sip, 2, 3000, 'call-hold-bye.xml');
      await placeCalls(g.sip, 1, 4000);
    } finally {
      await g.close(); // flushes every row
    }
    const out = join(dir, 'report.html');
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/report.ts', '--since', '1h', '--url', `sqlite:${db}`, '--out', out], { timeout: 60_000 });
    assert.match(r.stderr, /warmline report: .*report\.html/);
    const html = readFileSync(out, 'utf8');
    mkdirSync(ARTIFACTS, { recursive: true });
    copyFileSync(out, join(ARTIFACTS, 'report.html'));
    assert.doesNotMatch(html, /<script|<link|src="http/i, 'nothing loaded from elsewhere');

    const browser = await openBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(pathToFileURL(out).href);
      const figures = await page.$$eval('figure', (fs) => fs.map((f) => ({ title: f.querySelector('figcaption')?.textContent ?? '', marks: Number(f.getAttribute('data-marks')) })));
      const marks = (re: RegExp) => figures.find((f) => re.test(f.title))?.marks ?? 0;
      assert.ok(marks(/Response per agent/) >= 3, JSON.stringify(figures));
      assert.ok(await page.locator('.slow svg rect').count() >= 2, 'the slowest turns have their waterfalls');
      assert.ok(marks(/Per upstream/) >= 3, JSON.stringify(figures));
      assert.ok(marks(/acquire\(\) inside turns/) >= 3, JSON.stringify(figures));
      assert.ok(marks(/Acquire p95 over time/) >= 4, JSON.stringify(figures));
      assert.ok(marks(/Pool size and in use/) >= 8, JSON.stringify(figures));
      assert.equal(marks(/^Calls$/), 1, 'one bar: every call ended with bye');
      assert.match(await page.textContent('body') ?? '', /calls\s*\n?\s*/);
      assert.equal(await page.locator('.numbers b').first().textContent(), '3', 'three calls');
      const png = await screenshot(page, 'report.png');
      const ink = await inkOf(page, png);
      assert.ok(ink.colours > 30 && ink.inked > 0.05, `report screenshot ${png} looks blank: ${JSON.stringify(ink)}`);
    } finally {
      await browser.close();
    }
  });
});
