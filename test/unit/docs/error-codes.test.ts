import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { definedErrorCodes, WarmlineError } from '../../../src/errors.js';
import { SipError, SipTransportError, sipErrorCodes } from '../../../sip/index.js';
import { MediaError, mediaErrorCodes } from '../../../media/index.js';

// fastify's test/internals/errors.test.js, for three catalogues: each code of each catalogue is in
// docs/errors.md, the page names no code that does not exist, and no source file uses a code that
// no catalogue holds (a new `throw new SipError('SIP_ERR_NEW', …)` fails here until it is listed).
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const CODE = /\b(?:WL|SIP|MEDIA)_ERR_[A-Z0-9_]*[A-Z0-9]\b/g;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const productSources = [...sources('src'), ...sources('sip'), ...sources('media')];

describe('docs: error catalogues, docs/errors.md and the source agree', () => {
  const catalogue = new Set<string>();

  before(async () => {
    // The src/ catalogue fills as modules calling defineError() load: load every one of them, found
    // by what it contains, so a new errors file cannot be left out of this test.
    for (const f of productSources) {
      // Entry points (main.ts) run when imported: errors belong in a module they import.
      if (f.startsWith('src/') && f !== 'src/errors.ts' && !f.endsWith('/main.ts') && /\bdefineError\s*[<(]/.test(readFileSync(join(root, f), 'utf8'))) {
        await import(pathToFileURL(join(root, f)).href);
      }
    }
    for (const c of [...definedErrorCodes(), ...Object.keys(sipErrorCodes), ...Object.keys(mediaErrorCodes)]) catalogue.add(c);
  });

  const docs = readFileSync(join(root, 'docs/errors.md'), 'utf8');
  const documented = new Set(docs.match(CODE) ?? []);

  it('each catalogue holds only its own prefix, and the src/ catalogue was found', () => {
    assert.ok(definedErrorCodes().length >= 15, `only ${definedErrorCodes().length} WL_ERR codes loaded`);
    assert.deepEqual(definedErrorCodes().filter((c) => !c.startsWith('WL_ERR_')), []);
    assert.deepEqual(Object.keys(sipErrorCodes).filter((c) => !c.startsWith('SIP_ERR_')), []);
    assert.deepEqual(Object.keys(mediaErrorCodes).filter((c) => !c.startsWith('MEDIA_ERR_')), []);
  });

  it('each code of every catalogue appears in a table of docs/errors.md', () => {
    const rows = new Set([...docs.matchAll(/^\| `([A-Z0-9_]+)` \|/gm)].map((m) => m[1]!));
    assert.deepEqual([...catalogue].filter((c) => !rows.has(c)).sort(), []);
  });

  it('docs/errors.md names no code that does not exist', () => {
    assert.deepEqual([...documented].filter((c) => !catalogue.has(c)).sort(), []);
  });

  it('every code string in src/, sip/, media/ and the README belongs to a catalogue', () => {
    const unknown: string[] = [];
    for (const f of [...productSources, 'README.md']) {
      for (const c of readFileSync(join(root, f), 'utf8').match(CODE) ?? []) if (!catalogue.has(c)) unknown.push(`${f}: ${c}`);
    }
    assert.deepEqual(unknown, []);
  });

  it('the three bases have one shape: code, message, context and cause', () => {
    const cause = new Error('socket hang up');
    const errors: Array<Error & { code: string; context: Readonly<Record<string, unknown>> }> = [
      new WarmlineError('WL_ERR_POOL_CLOSED', 'pool x is closed', { pool: 'x' }, { cause }),
      new SipError('SIP_ERR_CONFIG', 'a UserAgent needs at least one transport', { transports: 0 }, { cause }),
      new SipTransportError('cannot bind', { port: 5060 }, { cause }),
      new MediaError('MEDIA_ERR_PORT_RANGE', 'bad range', { min: 1, max: 2 }, { cause }),
    ];
    for (const e of errors) {
      assert.ok(e instanceof Error);
      assert.ok(catalogue.has(e.code), e.code);
      assert.ok(e.message.length > 0);
      assert.equal(typeof e.context, 'object');
      assert.equal(e.cause, cause, `${e.name} keeps its cause`);
    }
  });
});
