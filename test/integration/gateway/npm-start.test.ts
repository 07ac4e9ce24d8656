import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSocket } from 'node:dgram';
import { spawnGateway } from '../../support/replica.js';
import { until } from '../../support/wait.js';

const start = spawnGateway;

describe('gateway: npm start on the embedded defaults', function () {
  this.timeout(40000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'wl-start-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('warms every pool against the local upstreams, prints ready with the ops URL, is ready, and exits 0 on SIGTERM', async () => {
    const run = start([]);
    try {
      await until(() => /warmline ready: http:\/\/127\.0\.0\.1:\d+/.test(run.stderr()), 'the ready line');
      assert.match(run.stderr(), /warming: asr \d\/2/, 'progress was shown');
      const url = /warmline ready: (http:\/\/127\.0\.0\.1:\d+)/.exec(run.stderr())![1]!;
      const ready = await fetch(`${url}/readyz`);
      assert.equal(ready.status, 200);
      const pools = (await (await fetch(`${url}/api/pools`)).json()) as Array<{ name: string; size: number; min: number; ready: boolean }>;
      assert.deepEqual(pools.map((p) => p.name).sort(), ['asr', 'crm', 'llm', 'tts']);
      assert.ok(pools.every((p) => p.ready && p.size >= p.min));
      assert.match(await (await fetch(`${url}/metrics`)).text(), /warmline_pool_size\{pool="asr"/);
      run.child.kill('SIGTERM');
      assert.equal(await run.exit, 0);
    } finally {
      run.child.kill('SIGKILL');
    }
  });

  it('a broken config file stops the start with exit 78 and a message naming the key', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'pools:\n  asr:\n    min: lots\n');
    const run = start(['--config', file]);
    assert.equal(await run.exit, 78);
    assert.match(run.stderr(), /cannot start: config key 'pools\.asr\.min' has "lots" \(from .*bad\.yaml\): expected number/);
  });

  it('an unknown argument prints the usage and exits 64', async () => {
    const run = start(['--nope']);
    assert.equal(await run.exit, 64);
    assert.match(run.stderr(), /unknown argument '--nope'[\s\S]*usage: npm start/);
  });

  it('a SIP port another process holds stops the start with exit 78 and a message naming the address, not a stack trace', async () => {
    const holder = createSocket('udp4');
    await new Promise<void>((r) => holder.bind(0, '127.0.0.1', () => r()));
    try {
      const run = start([], { WARMLINE_SIP__PORT: String(holder.address().port) });
      assert.equal(await run.exit, 78, run.stderr());
      assert.match(run.stderr(), new RegExp(`cannot start: .*cannot bind UDP 127\\.0\\.0\\.1:${holder.address().port}.*another process holds it`));
      assert.doesNotMatch(run.stderr(), /\n\s+at /, 'no stack trace');
    } finally {
      holder.close();
    }
  });
});
