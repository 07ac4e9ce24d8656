import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { needsLocal, resolveEndpoint, resolveRegions } from '../../../src/boot/upstream-endpoints.js';

const local = { asr: 'wss://127.0.0.1:1', tts: 'wss://127.0.0.1:2', llm: 'https://127.0.0.1:3', crm: 'https://127.0.0.1:4', ca: 'PEM' };

describe('boot: which upstream is local and which is the provider', () => {
  it('with no keys every upstream is local, with the local key and certificate', () => {
    const c = loadConfig({ env: {} });
    for (const n of ['asr', 'tts', 'llm', 'crm'] as const) {
      assert.equal(needsLocal(c, n), true);
      assert.deepEqual(resolveEndpoint(c, n, local), { baseUrl: local[n], apiKey: 'local-dev-key', ca: 'PEM', local: true });
    }
  });

  it('a key alone points at the provider\'s public endpoint, per LLM provider', () => {
    const c = loadConfig({ env: { DEEPGRAM_API_KEY: 'dg', ELEVENLABS_API_KEY: 'el', ANTHROPIC_API_KEY: 'an', WARMLINE_UPSTREAMS__LLM__PROVIDER: 'anthropic' } });
    assert.deepEqual(resolveEndpoint(c, 'asr', undefined), { baseUrl: 'wss://api.deepgram.com', apiKey: 'dg', local: false });
    assert.deepEqual(resolveEndpoint(c, 'tts', undefined), { baseUrl: 'wss://api.elevenlabs.io', apiKey: 'el', local: false });
    assert.deepEqual(resolveEndpoint(c, 'llm', undefined), { baseUrl: 'https://api.anthropic.com', apiKey: 'an', local: false });
    assert.equal(needsLocal(c, 'crm'), true, 'mixed: the CRM stays local');
  });

  it('a base URL is used as given (a compatible self-hosted server)', () => {
    const c = loadConfig({ env: { OPENAI_BASE_URL: 'https://llm.internal:8443', OPENAI_API_KEY: 'k' } });
    assert.equal(resolveEndpoint(c, 'llm', undefined).baseUrl, 'https://llm.internal:8443');
  });

  it('asking for a local upstream that was not started is a clear error', () => {
    assert.throws(() => resolveEndpoint(loadConfig({ env: {} }), 'asr', undefined), (err: Error & { code?: string }) =>
      err.code === 'WL_ERR_CONFIG_INVALID' && /upstreams\.asr\.baseUrl/.test(err.message) && /local upstreams were not started/.test(err.message));
  });

  it('regions: a region\'s own endpoint for what it overrides (with its CA), the shared one for the rest', () => {
    const c = loadConfig({ env: { DEEPGRAM_API_KEY: 'dg' }, overrides: { region: 'us-east', regions: [
      { name: 'us-east', asr: { baseUrl: 'wss://us.dg.example' } },
      { name: 'eu-west', asr: { baseUrl: 'wss://eu.dg.example', apiKey: 'dg-eu' }, caFile: '/ca/eu.pem' },
    ] } as never });
    const [us, eu] = resolveRegions(c, local, (path) => `PEM of ${path}`);
    assert.deepEqual(us!.endpoints.asr, { baseUrl: 'wss://us.dg.example', apiKey: 'dg', local: false });
    assert.deepEqual(eu!.endpoints.asr, { baseUrl: 'wss://eu.dg.example', apiKey: 'dg-eu', ca: 'PEM of /ca/eu.pem', local: false });
    assert.deepEqual(eu!.endpoints.tts, us!.endpoints.tts, 'one shared TTS endpoint');
    assert.deepEqual([...eu!.regional], ['asr']);
    assert.equal(needsLocal(c, 'asr'), false, 'every region reaches ASR itself');
  });

  it('no regions: one unnamed region, the endpoints as before', () => {
    const [only, ...rest] = resolveRegions(loadConfig({ env: {} }), local, () => '');
    assert.equal(only!.name, '');
    assert.deepEqual(rest, []);
    assert.deepEqual(only!.endpoints.llm, resolveEndpoint(loadConfig({ env: {} }), 'llm', local));
  });
});
