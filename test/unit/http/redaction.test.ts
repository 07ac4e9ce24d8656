import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.js';
import { redactText } from '../../../src/log.js';
import { capturedLogger } from '../../support/log-capture.js';

describe('log: secrets never reach the output', () => {
  it('a config logged whole shows no key, password, token or Redis password', () => {
    const config = loadConfig({
      env: {},
      overrides: {
        leases: { store: 'redis', redisUrl: 'redis://:hunter2-redis@redis.internal:6379' },
        upstreams: { asr: { apiKey: 'dg-secret-key-1' }, llm: { apiKey: 'sk-secret-llm' } },
        ops: { tokens: [{ name: 'oncall', token: 'ops-token-secret-0001' }] },
        registrations: [{ id: 'telnyx', user: 'u', domain: 'd', registrar: { host: 'h' }, password: 'sip-pass-secret' }],
      },
    });
    const cap = capturedLogger();
    cap.log.info({ config }, 'configuration');
    const out = cap.text();
    for (const s of ['hunter2-redis', 'dg-secret-key-1', 'sk-secret-llm', 'ops-token-secret-0001', 'sip-pass-secret']) assert.ok(!out.includes(s), `${s} leaked: ${out}`);
    const line = cap.lines()[0] as { config: { leases: { redisUrl: string }; ops: { tokens: Array<{ name: string }> } } };
    assert.equal(line.config.leases.redisUrl, 'redis://[redacted]@redis.internal:6379', 'the rest of the URL stays readable');
    assert.equal(line.config.ops.tokens[0]!.name, 'oncall');
  });

  it('URLs with userinfo are scrubbed in messages, bindings, errors and nested values', () => {
    const cap = capturedLogger();
    const child = cap.log.child({ store: 'rediss://user:pw-in-binding@r:6380/0' });
    child.warn({ peer: { url: 'wss://tok-in-url@asr.example/v1' } }, 'cannot reach redis://:pw-in-msg@127.0.0.1:1');
    child.error({ err: new Error('connect ECONNREFUSED redis://:pw-in-error@10.0.0.1:6379') }, 'lease store down');
    child.info('%s', 'redis://:pw-in-arg@h:1');
    cap.log.info({ target: new URL('redis://:pw-in-url-object@r:6379/1') }, 'a URL object');
    cap.log.info({ apiKey: 'top-level-key', password: 'top-level-pw', Authorization: 'Basic dG9wOnNlY3JldA==' }, 'top level');
    child.info({ headers: { Authorization: 'Bearer abc-bearer-secret', 'proxy-authorization': 'Digest username="u", response="r-secret"' } }, 'request');
    const out = cap.text();
    for (const s of ['pw-in-binding', 'tok-in-url', 'pw-in-msg', 'pw-in-error', 'pw-in-arg', 'abc-bearer-secret', 'r-secret', 'top-level-key', 'top-level-pw', 'pw-in-url-object', 'dG9wOnNlY3JldA']) assert.ok(!out.includes(s), `${s} leaked`);
    assert.match(out, /rediss:\/\/\[redacted\]@r:6380/);
    assert.match(out, /"target":"redis:\/\/\[redacted\]@r:6379\/1"/, 'a URL object is written as its redacted href');
    assert.match(out, /lease store down/);
    assert.match(out, /ECONNREFUSED/, 'the error keeps its message minus the secret');
  });

  it('leaves ordinary values alone: numbers named like secrets, e-mail-like text without a scheme, booleans', () => {
    const cap = capturedLogger();
    cap.log.info({ tokens: 3, password: false, apiKey: '', from: 'alice@example.com', uri: 'sip:+1555@carrier' }, 'counts');
    const l = cap.lines()[0]!;
    assert.equal(l.tokens, 3);
    assert.equal(l.password, false);
    assert.equal(l.apiKey, '');
    assert.equal(l.from, 'alice@example.com');
    assert.equal(l.uri, 'sip:+1555@carrier');
  });

  it('redactText keeps the scheme and host', () => {
    assert.equal(redactText('redis://default:p@ss@host:1'), 'redis://[redacted]@host:1');
    assert.equal(redactText('postgres://u:p@db/x and https://h/y'), 'postgres://[redacted]@db/x and https://h/y');
  });
});
