import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigInvalidError, ConfigFileError } from '../../../src/config/index.js';

describe('config: loadConfig', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'wl-config-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

  it('loads the embedded default with no keys, local upstreams and in-memory leases, deep-frozen', () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.upstreams.asr.apiKey, '');
    assert.equal(c.upstreams.asr.baseUrl, '');
    assert.equal(c.leases.store, 'memory');
    assert.equal(c.pools.tts.headroom, 0.25);
    assert.ok(Object.isFrozen(c.pools.asr));
    assert.throws(() => { (c.pools.asr as { min: number }).min = 9; }, TypeError);
  });

  it('merges a file over the default, leaving the keys it does not name', () => {
    const p = file('ok.yaml', 'pools:\n  asr:\n    min: 5\nserver:\n  httpPort: 9001\n');
    const c = loadConfig({ file: p, env: {} });
    assert.equal(c.pools.asr.min, 5);
    assert.equal(c.pools.asr.max, 50);
    assert.equal(c.server.httpPort, 9001);
    assert.equal(c.server.host, '127.0.0.1');
  });

  it('takes WARMLINE_CONFIG as the file and WARMLINE_A__B__C as typed overrides over it', () => {
    const p = file('env.yaml', 'pools:\n  asr:\n    min: 5\n');
    const c = loadConfig({ env: { WARMLINE_CONFIG: p, WARMLINE_POOLS__ASR__MIN: '7', WARMLINE_UPSTREAMS__TTS__MULTICONTEXT: 'false' } });
    assert.equal(c.pools.asr.min, 7);
    assert.equal(c.upstreams.tts.multiContext, false);
  });

  it('reads providers\' conventional variables, choosing the LLM key by provider', () => {
    const c = loadConfig({ env: { DEEPGRAM_API_KEY: 'dg', OPENAI_API_KEY: 'oa', ANTHROPIC_API_KEY: 'an' } });
    assert.equal(c.upstreams.asr.apiKey, 'dg');
    assert.equal(c.upstreams.llm.apiKey, 'oa');
    const a = loadConfig({ env: { WARMLINE_UPSTREAMS__LLM__PROVIDER: 'anthropic', OPENAI_API_KEY: 'oa', ANTHROPIC_API_KEY: 'an' } });
    assert.equal(a.upstreams.llm.apiKey, 'an');
  });

  it('REDIS_URL alone switches the lease store to redis', () => {
    const c = loadConfig({ env: { REDIS_URL: 'redis://127.0.0.1:6379' } });
    assert.equal(c.leases.store, 'redis');
    assert.equal(c.leases.redisUrl, 'redis://127.0.0.1:6379');
  });

  it('a wrong value names the key, the value, where it came from and what was expected', () => {
    const err = catchError(() => loadConfig({ env: { WARMLINE_POOLS__ASR__MIN: 'abc' } }));
    assert.ok(err instanceof ConfigInvalidError);
    assert.equal(err.code, 'WL_ERR_CONFIG_INVALID');
    assert.match(err.message, /'pools\.asr\.min' has "abc" \(from env WARMLINE_POOLS__ASR__MIN\): expected number/);
    assert.deepEqual(err.context.issues.map((i) => i.key), ['pools.asr.min']);
  });

  it('an out-of-range value and min > max are both reported, each with its key', () => {
    const p = file('range.yaml', 'server:\n  httpPort: 70000\npools:\n  llm:\n    min: 9\n    max: 2\n');
    const err = catchError(() => loadConfig({ file: p, env: {} }));
    assert.ok(err instanceof ConfigInvalidError);
    const keys = err.context.issues.map((i) => i.key).sort();
    assert.deepEqual(keys, ['pools.llm.min', 'server.httpPort']);
    assert.match(err.message, new RegExp(`'server.httpPort' has 70000 \\(from ${p.replace(/[.]/g, '\\.')}\\): expected number to be <=65535`));
  });

  it('a misspelt key stops the start and lists the known keys', () => {
    const p = file('typo.yaml', 'pools:\n  asr:\n    maxx: 3\n');
    const err = catchError(() => loadConfig({ file: p, env: {} }));
    assert.ok(err instanceof ConfigInvalidError);
    assert.match(err.message, /'pools\.asr\.maxx' has 3 .*expected no such key \(known keys here: min, max,/);
  });

  it('never prints an API key in an error', () => {
    const masked = catchError(() => loadConfig({ overrides: { upstreams: { asr: { apiKey: 'sekrit', baseUrl: 'ftp://x' } } } as never, env: {} }));
    assert.ok(masked instanceof ConfigInvalidError);
    assert.doesNotMatch(masked.message, /sekrit/);
    assert.match(masked.message, /upstreams\.asr\.baseUrl/);
  });

  it('a redis store without a URL is refused with the key to set', () => {
    const err = catchError(() => loadConfig({ env: { WARMLINE_LEASES__STORE: 'redis' } }));
    assert.ok(err instanceof ConfigInvalidError);
    assert.match(err.message, /leases\.redisUrl.*REDIS_URL/);
  });

  it('a route to an agent that does not exist names the route and the agents there are', () => {
    const p = file('routes.yaml', 'routes:\n  - did: "+15551230000"\n    agent: sales\n');
    const err = catchError(() => loadConfig({ file: p, env: {} }));
    assert.ok(err instanceof ConfigInvalidError);
    assert.match(err.message, /'routes\.0\.agent' has "sales" .*expected one of the agents defined under agents \(receptionist\)/);
  });

  it('a CRM key without a CRM URL is refused', () => {
    const err = catchError(() => loadConfig({ env: { CRM_API_KEY: 'k' } }));
    assert.ok(err instanceof ConfigInvalidError);
    assert.match(err.message, /upstreams\.crm\.baseUrl.*CRM_BASE_URL/);
  });

  it('a file that is not YAML gives WL_ERR_CONFIG_FILE with the line', () => {
    const p = file('bad.yaml', 'pools:\n  asr:\n    min: [1, 2\n');
    const err = catchError(() => loadConfig({ file: p, env: {} }));
    assert.ok(err instanceof ConfigFileError);
    assert.equal(err.code, 'WL_ERR_CONFIG_FILE');
    assert.match(err.message, /not valid YAML at line \d+/);
  });

  it('a missing file and a file that is not a mapping are clear errors', () => {
    const missing = catchError(() => loadConfig({ file: join(dir, 'nope.yaml'), env: {} }));
    assert.ok(missing instanceof ConfigFileError);
    assert.match(missing.message, /no such file/);
    const list = catchError(() => loadConfig({ file: file('list.yaml', '- a\n- b\n'), env: {} }));
    assert.ok(list instanceof ConfigFileError);
    assert.match(list.message, /top level must be a mapping/);
  });
});

function catchError(fn: () => unknown): Error {
  try { fn(); } catch (e) { return e as Error; }
  assert.fail('expected an error');
}
