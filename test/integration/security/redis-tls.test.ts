import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gateway } from '../../../src/boot/gateway.js';
import { makeCertificate } from '../../../src/local/tls-certificate.js';
import { startTestGateway } from '../../support/gateway.js';
import { freeTcpPort } from '../../support/redis-server.js';
import { until } from '../../support/wait.js';

const PASSWORD = 'tls-redis-pw-51c0e2';

/** Does a TLS client that trusts `ca` get PONG after AUTH? (readiness of the private server) */
function tlsPing(port: number, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => s.write(`AUTH ${PASSWORD}\r\nPING\r\n`));
    let got = '';
    s.on('data', (d) => { got += d.toString(); if (/\+PONG/.test(got)) { s.destroy(); resolve(true); } });
    s.on('error', () => resolve(false));
    s.setTimeout(1000, () => { s.destroy(); resolve(false); });
  });
}

/** The lease store over TLS (rediss://, leases.redisTlsCaFile) with a password, against a real redis-server. */
describe('security: the lease store over TLS with a password', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'wl-redis-tls-'));
  let redis: ChildProcess | undefined;
  let port = 0;
  let g: Gateway | undefined;

  before(async () => {
    const cert = await makeCertificate();
    writeFileSync(join(dir, 'cert.pem'), cert.cert);
    writeFileSync(join(dir, 'key.pem'), cert.key);
    port = await freeTcpPort();
    redis = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', join(dir, 'cert.pem'), '--tls-key-file', join(dir, 'key.pem'),
      '--tls-ca-cert-file', join(dir, 'cert.pem'), '--tls-auth-clients', 'no', '--requirepass', PASSWORD, '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
    await until(() => tlsPing(port, cert.cert), 'redis-server on TLS', 15_000);
  });
  after(async () => {
    await g?.close();
    if (redis && redis.exitCode === null) await new Promise<void>((r) => { redis!.once('exit', () => r()); redis!.kill('SIGKILL'); });
    rmSync(dir, { recursive: true, force: true });
  });

  it('the provider caps coordinate globally through rediss:// with the private CA and the password', async () => {
    g = await startTestGateway({
      upstreams: { asr: { concurrencyCap: 4 } },
      leases: { store: 'redis', redisUrl: `rediss://localhost:${port}`, redisPassword: PASSWORD, redisTlsCaFile: join(dir, 'cert.pem') },
    });
    await g.whenReady();
    const v = (await (await fetch(`${g.opsUrl}/api/replica`)).json()) as { gates: Array<{ mode: string; held: number }> };
    assert.ok(v.gates.length === 1 && v.gates[0]!.mode === 'global' && v.gates[0]!.held > 0, JSON.stringify(v.gates));
  });
});
