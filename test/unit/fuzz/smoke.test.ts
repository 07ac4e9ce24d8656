import assert from 'node:assert/strict';
import { fuzz } from '../../../bench/fuzz-engine.js';
import { targets } from '../../../bench/fuzz-targets.js';

// Open findings (see regressions.test.ts): issue 9's parser writes them; they do not crash anything.
const OPEN = /our 400 to a salvaged request does not parse/;

/**
 * A short, seeded bench:fuzz run per target in the suite: the same mutations every time (the
 * count of runs, not the clock, ends it), so a parser change that lets an untyped error escape
 * or breaks what we write back fails here before a long run finds it.
 */
describe('fuzz: a seeded smoke run of every target', function () {
  this.timeout(120_000);
  for (const t of targets) {
    it(`${t.name}: 400 mutated inputs, no crash`, () => {
      const r = fuzz(t, 90, 7, Infinity, 400);
      assert.ok(r.execs >= 400, `ran ${r.execs}`);
      assert.ok(r.corpus > t.seeds.length, 'coverage guidance kept new inputs');
      const crashes = r.findings.filter((f) => f.kind === 'crash' && !OPEN.test(f.message));
      assert.deepEqual(crashes.map((f) => `${f.message} ${f.input}`), []);
    });
  }
});
