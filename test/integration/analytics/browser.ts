import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where screenshots go: ARTIFACTS_DIR if set (CI collects it), else .tmp/artifacts in the worktree. */
export const ARTIFACTS = process.env.ARTIFACTS_DIR ?? join(process.cwd(), '.tmp', 'artifacts');

/** Debian's Chromium, headless, with a profile of its own that is removed afterwards. */
export async function openBrowser(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'wl-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page screenshot as an artifact; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * How much of a PNG is not page background, decoded by the browser itself:
 * distinct colours (a blank or one-colour page has a handful) and the share of
 * pixels that differ from the most common one.
 */
export async function inkOf(page: Page, png: string): Promise<{ colours: number; inked: number }> {
  const data = `data:image/png;base64,${readFileSync(png).toString('base64')}`;
  // Runs in the page (a string: this package is type-checked without the DOM library).
  return page.evaluate(`(async () => {
    const img = new Image();
    img.src = ${JSON.stringify(data)};
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const px = ctx.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map();
    for (let i = 0; i < px.length; i += 4 * 7) {
      const k = (px[i] << 16) | (px[i + 1] << 8) | px[i + 2];
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const total = px.length / (4 * 7);
    const top = Math.max(...counts.values());
    return { colours: counts.size, inked: (total - top) / total };
  })()`);
}
