import assert from 'node:assert/strict';
import { Counter, Registry } from 'prom-client';
import { startOpsServer, type OpsServer } from '../../../src/http/index.js';
import { createLogger } from '../../../src/log.js';

describe('http: ops server', () => {
  let server: OpsServer;
  let ready = false;
  const registry = new Registry();
  const counter = new Counter({ name: 'warmline_test_total', help: 'a test counter', registers: [registry] });

  before(async () => {
    server = await startOpsServer('127.0.0.1', 0, {
      registry,
      readiness: () => ({ ready, reasons: ready ? [] : ['pool asr: 0/2 warm'] }),
      pools: () => [{ name: 'asr', size: 2 }],
      calls: () => ({ active: [] }),
    }, createLogger('silent'));
  });
  after(() => server.close());

  it('serves Prometheus text on /metrics', async () => {
    counter.inc(3);
    const res = await fetch(`${server.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(await res.text(), /warmline_test_total 3/);
  });

  it('/readyz is 503 with the reasons until ready, then 200', async () => {
    ready = false;
    let res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { ready: false, reasons: ['pool asr: 0/2 warm'] });
    ready = true;
    res = await fetch(`${server.url}/readyz`);
    assert.equal(res.status, 200);
  });

  it('/healthz answers whatever the readiness', async () => {
    ready = false;
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
  });

  it('/api/pools and /api/calls are JSON', async () => {
    assert.deepEqual(await (await fetch(`${server.url}/api/pools`)).json(), [{ name: 'asr', size: 2 }]);
    assert.deepEqual(await (await fetch(`${server.url}/api/calls`)).json(), { active: [] });
  });

  it('unknown routes get 404 and other methods 405, as JSON', async () => {
    const nf = await fetch(`${server.url}/nope`);
    assert.equal(nf.status, 404);
    assert.match((await nf.json() as { error: string }).error, /no route \/nope/);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
  });
});
