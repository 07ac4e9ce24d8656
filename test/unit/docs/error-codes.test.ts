import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { definedErrorCodes } from '../../../src/errors.js';
// Import every module that defines errors, so that the registry is complete.
import '../../../src/config/index.js';
import '../../../src/cli/args.js';
import '../../../src/pools/index.js';
import '../../../src/upstreams/index.js';
import '../../../src/leases/index.js';
import '../../../src/boot/sip-transports.js';
import '../../../src/analytics/index.js';
import '../../../bench/support/delayed-link.js';
import '../../../bench/support/delay-proxy.js';

describe('docs: every error code is documented, and only those', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Errors'));
  const documented = new Set(section.match(/WL_ERR_[A-Z0-9_]+/g) ?? []);

  it('each defined code appears in the README\'s Errors table', () => {
    const missing = definedErrorCodes().filter((c) => !documented.has(c));
    assert.deepEqual(missing, []);
  });

  it('the table names no code that does not exist', () => {
    const defined = new Set(definedErrorCodes());
    assert.deepEqual([...documented].filter((c) => !defined.has(c)), []);
  });
});
