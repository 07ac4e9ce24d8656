import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { startGateway, type Gateway } from '../../../src/boot/gateway.js';
import { loadConfig } from '../../../src/config/index.js';
import { Dnsmasq } from '../../support/dnsmasq.js';
import { freeUdpPort, Kamailio } from '../../support/kamailio.js';
import { capturedLogger } from '../../support/log-capture.js';
import { sipp } from '../../support/sipp.js';
import { TestCa } from '../../support/test-ca.js';
import { until } from '../../support/wait.js';
import { api, startUas } from '../outbound/support.js';

const CFG = fileURLToPath(new URL('../../../config/kamailio/registrar-tls.cfg', import.meta.url));
const SCENARIO = fileURLToPath(new URL('./scenarios/call-via-proxy.xml', import.meta.url));
const WAIT_BYE = fileURLToPath(new URL('../calls/scenarios/call-wait-bye.xml', import.meta.url));

async function freeTcpPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Snapshot { id: string; state: string; failures: number; lastError?: { code: string; message: string } }

/**
 * TLS to a carrier, against a real Kamailio with its TLS module: a private CA made here signs
 * Kamailio's certificate (for the name `registrar.test` only, no IP in it) and the gateway's
 * (its TLS listener, and its client certificate: Kamailio requires one). dnsmasq resolves
 * `registrar.test` and `wrong.test` to 127.0.0.1, so the only thing telling them apart is the
 * name the gateway verifies.
 */
describe('trunks: registration and calls over TLS with a real Kamailio (host-name verification)', function () {
  this.timeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), 'wl-tls-kamailio-'));
  const file = (name: string, text: string) => { writeFileSync(join(dir, name), text); return join(dir, name); };
  let k: Kamailio;
  let dns: Dnsmasq;
  let g: Gateway | undefined;
  let tlsPort = 0;
  let uasPort = 0;
  let uasMediaPort = 0;
  const logs = capturedLogger('info');
  const replica = async () => (await (await fetch(`${g!.opsUrl}/api/replica`)).json()) as { registrations: Snapshot[] };
  const snapshot = async (id: string) => (await replica()).registrations.find((r) => r.id === id);
  /** Waits for a registration's state to satisfy `ok`; a timeout says where it was (state, failures, last error). */
  const registration = async (id: string, ok: (s: Snapshot | undefined) => boolean, what: string) => {
    let last: Snapshot | undefined;
    await until(async () => ok((last = await snapshot(id))), what, 40_000).catch((err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(last)}\n${k.log.slice(-1500)}`); });
  };

  before(async () => {
    const ca = await TestCa.create();
    const registrar = await ca.issue({ dns: ['registrar.test'] });
    const gateway = await ca.issue({ dns: ['gw.test'], ip: ['127.0.0.1'] });
    const caFile = file('ca.pem', ca.root.cert);
    const tlsCfg = file('tls.cfg', [
      '[server:default]', 'method = TLSv1.2+', `certificate = ${file('registrar.pem', registrar.cert)}`, `private_key = ${file('registrar.key', registrar.key)}`,
      `ca_list = ${caFile}`, 'verify_certificate = yes', 'require_certificate = yes', '',
      '[client:default]', 'method = TLSv1.2+', `ca_list = ${caFile}`, 'verify_certificate = yes', 'require_certificate = yes', '',
    ].join('\n'));
    const udpPort = await freeUdpPort();
    tlsPort = await freeTcpPort();
    [uasPort, uasMediaPort] = [await freeUdpPort(), await freeUdpPort()];
    k = new Kamailio({ port: udpPort, script: { file: CFG, defines: { UDP_ADDR: `127.0.0.1:${udpPort}`, TLS_ADDR: `127.0.0.1:${tlsPort}`, TLS_CFG: `"${tlsCfg}"`, UAS_URI: `"sip:127.0.0.1:${uasPort}"` } } });
    dns = new Dnsmasq({ hosts: ['registrar.test,127.0.0.1', 'wrong.test,127.0.0.1'] });
    await Promise.all([k.start(), dns.start()]);

    const gwCert = file('gw.pem', gateway.cert);
    const gwKey = file('gw.key', gateway.key);
    const tls = { caFile, certFile: gwCert, keyFile: gwKey };
    const config = loadConfig({
      env: {},
      overrides: {
        server: { httpPort: 0 },
        log: { level: 'info' },
        local: { asrRecognizer: 'vad' },
        // An RTP range of its own (as startTestGateway picks them), away from other test processes'.
        media: { portMin: 31000 + ((process.pid * 7 + 7000) % 20000), portMax: 31000 + ((process.pid * 7 + 7000) % 20000) + 199 },
        analytics: { enabled: false },
        sip: { port: 0, dnsServers: [dns.server], tls: { enabled: true, port: 0, certFile: gwCert, keyFile: gwKey } },
        registrations: [
          { id: 'tls-good', user: 'gwuser', domain: 'registrar.test', registrar: { host: 'registrar.test', port: tlsPort, transport: 'tls' }, password: Kamailio.password('gwuser'), expires: 60, tls },
          // The same Kamailio under another name: its certificate does not say wrong.test.
          { id: 'tls-wrong', user: 'gwwrong', domain: 'wrong.test', registrar: { host: 'wrong.test', port: tlsPort, transport: 'tls' }, password: Kamailio.password('gwwrong'), expires: 60, tls },
        ],
        outbound: { ringTimeoutS: 10, trunks: [{ id: 'tls-good', maxConcurrent: 2, callsPerSecond: 5 }] },
      },
    });
    g = await startGateway(config, { log: logs.log, registry: new Registry() });
    await g.whenReady();
  });
  after(async () => {
    await g?.close();
    await k?.dispose();
    await dns?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('(a) registers over TLS to the configured host name; the location table holds a transport=tls Contact at the TLS listener', async () => {
    await registration('tls-good', (r) => r?.state === 'registered', 'tls-good registered');
    const listener = g!.sipListeners.find((l) => l.protocol === 'TLS')!;
    const bindings = await k.bindings('gwuser', 'registrar.test');
    assert.equal(bindings.length, 1, bindings.join('\n'));
    assert.match(bindings[0]!, new RegExp(`<sip:127\\.0\\.0\\.1:${listener.port};transport=tls>`));
    assert.match(k.log, /REGISTER gwuser over tls from 127\.0\.0\.1/);
  });

  it('(b) a registrar whose certificate names another host is refused: SIP_ERR_TLS_CERTIFICATE in status, readiness, logs and metrics; retried with backoff', async () => {
    await registration('tls-wrong', (r) => (r?.failures ?? 0) >= 2, 'tls-wrong failed twice');
    const s = (await snapshot('tls-wrong'))!;
    assert.equal(s.lastError?.code, 'SIP_ERR_TLS_CERTIFICATE', JSON.stringify(s));
    assert.match(s.lastError!.message, /wrong\.test/);
    assert.notEqual(s.state, 'registered');
    const ready = await fetch(`${g!.opsUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /registration tls-wrong: \w+ \(SIP_ERR_TLS_CERTIFICATE/);
    const warn = logs.lines().find((l) => l.id === 'tls-wrong' && l.code === 'SIP_ERR_TLS_CERTIFICATE');
    assert.ok(warn, 'a warning with the code was logged');
    const metrics = await (await fetch(`${g!.opsUrl}/metrics`)).text();
    assert.match(metrics, /warmline_registration_failures\{id="tls-wrong"\} [2-9]/);
    assert.match(metrics, /warmline_registration_up\{id="tls-wrong"\} 0/);
    // Refused before a byte of SIP: Kamailio never saw a REGISTER from it, nothing is bound.
    assert.doesNotMatch(k.log, /REGISTER gwwrong/);
    assert.deepEqual(await k.bindings('gwwrong', 'wrong.test'), []);
    assert.equal((await snapshot('tls-good'))?.state, 'registered', 'the other registration is untouched');
  });

  it('(c) a call Kamailio routes to the registered TLS Contact is answered and ends cleanly with the caller\'s BYE', async () => {
    await registration('tls-good', (r) => r?.state === 'registered', 'tls-good registered');
    const run = await sipp({ address: '127.0.0.1', port: k.port }, ['-sf', SCENARIO, '-s', 'gwuser', '-m', '1'], 30).done;
    assert.equal(run.code, 0, run.out.slice(-3000));
    const listener = g!.sipListeners.find((l) => l.protocol === 'TLS')!;
    assert.match(k.log, new RegExp(`INVITE for gwuser relayed to sip:127\\.0\\.0\\.1:${listener.port};transport=tls`));
    await until(() => g!.calls.view().recent.length >= 1 && g!.calls.view().active.length === 0, 'the call ended');
    assert.equal(g!.calls.view().recent[0]!.endReason, 'bye');
  });

  it('(d) the gateway hangs up such a call: its BYE goes over TLS through Kamailio (Route from the Record-Route) and the caller answers it', async () => {
    const run = sipp({ address: '127.0.0.1', port: k.port }, ['-sf', WAIT_BYE, '-s', 'gwuser', '-key', 'rtp_port', '40010', '-m', '1'], 30);
    let id: string | undefined;
    await until(() => { id = g!.calls.view().active.find((c) => c.state === 'active')?.id; return id !== undefined; }, 'the call answered');
    assert.ok(g!.calls.hangup(id!));
    const done = await run.done;
    assert.equal(done.code, 0, done.out.slice(-3000));
    await until(() => g!.calls.view().active.length === 0, 'the call ended');
    assert.equal(g!.calls.view().recent[0]!.endReason, 'hangup');
  });

  it('(e) a call we place on the TLS trunk: the INVITE goes over TLS verified against the trunk\'s name and CA, and our BYE follows the Record-Route over TLS', async () => {
    await registration('tls-good', (r) => r?.state === 'registered', 'tls-good registered');
    const uas = await startUas('uas-answer-wait.xml', uasPort, uasMediaPort);
    try {
      const a = api(g!.opsUrl);
      const { id } = await a.answered({ to: 'sip:uas@registrar.test', trunk: 'tls-good' }, 'answered', () => k.log.slice(-1500));
      assert.match(k.log, /INVITE for uas relayed to sip:127\.0\.0\.1:\d+, received over tls/);
      assert.equal((await a.del(id)).status, 200);
      const ended = await a.until(id, (v) => v.state === 'ended', 'ended');
      assert.equal(ended.reason, 'hangup');
      const done = await uas.done;
      assert.equal(done.code, 0, `the callee got our BYE through Kamailio: ${done.out.slice(-2000)}`);
      assert.match(k.log, /BYE in dialog received over tls/, 'our BYE followed the Record-Route to Kamailio\'s TLS side');
    } finally {
      uas.stop();
    }
  });
});
