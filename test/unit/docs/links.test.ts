import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// The README once pointed to a DESIGN.md the repository did not have: every relative link of the
// README and docs/ must name a file that exists, and an #anchor a heading that exists.
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const slug = (heading: string): string => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');

describe('docs: links between the README and docs/ resolve', () => {
  it('every relative link names an existing file and heading', () => {
    const broken: string[] = [];
    let links = 0;
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8');
      for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        const href = m[1]!;
        if (/^[a-z]+:/.test(href)) continue;
        links++;
        const [file, anchor] = href.split('#') as [string, string | undefined];
        const target = file ? join(root, dirname(page), file) : join(root, page);
        if (!existsSync(target)) { broken.push(`${page}: ${href}`); continue; }
        if (anchor && target.endsWith('.md')) {
          const headings = [...readFileSync(target, 'utf8').matchAll(/^#+ (.+)$/gm)].map((h) => slug(h[1]!));
          if (!headings.includes(anchor)) broken.push(`${page}: ${href} (no such heading)`);
        }
      }
    }
    assert.ok(links >= 5, `only ${links} links found`);
    assert.deepEqual(broken, []);
  });

  it('the README names no document that is not in the repository', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    assert.equal(/\bDESIGN\.md\b/.test(readme), false);
  });
});
