import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { findFloatingPromises, programOf, projectProgram } from '../../support/floating-promises.js';

describe('lint: no floating promises', function () {
  this.timeout(120_000);

  it('finds the floating shapes and accepts the owned ones', () => {
    const src = [
      'declare function p(): Promise<void>;',
      'declare const q: Promise<number>;',
      'declare function log(e: unknown): void; declare function later(cb: () => void): void;',
      'p();',                                   // 4: floats
      'void p();',                              // 5: floats
      'void p().finally(() => undefined);',     // 6: floats (finally re-throws)
      'p().then(() => 1);',                     // 7: floats (no rejection handler)
      'q;',                                     // 8: floats
      'void p().catch(log);',                   // ok
      'p().then(() => 1, log);',                // ok
      'p().finally(() => 1).catch(log);',       // ok
      'async function f() { await p(); return p(); }',
      'const r = p(); let s: Promise<void>; s = p();',
      'later(async () => { await p(); });',      // 14: floats (later() ignores what cb returns)
      'later(() => { p().catch(log); });',      // ok
      '[1].map(async () => 1);',                 // ok: map keeps what the callback returns
      'export { f, r, s };',
    ].join('\n');
    const found = findFloatingPromises(programOf({ '/virtual/a.ts': src }), (f) => f === '/virtual/a.ts');
    assert.deepEqual(found.map((x) => x.line), [4, 5, 6, 7, 8, 14]);
  });

  it('sip/, media/ and src/ start no promise without an owner for its failure', () => {
    const root = resolve(import.meta.dirname, '../../..');
    const program = projectProgram(resolve(root, 'tsconfig.json'));
    const ours = new RegExp(`^${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(sip|media|src)/`);
    const found = findFloatingPromises(program, (f) => ours.test(f));
    assert.deepEqual(found.map((x) => `${x.file.slice(root.length + 1)}:${x.line}: ${x.text}`), []);
  });
});
