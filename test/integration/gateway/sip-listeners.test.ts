import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { generate } from 'selfsigned';
import { WebSocket } from 'ws';
import type { Gateway } from '../../../src/boot/gateway.js';
import { loadConfig, ConfigInvalidError } from '../../../src/config/index.js';
import { startGateway } from '../../../src/boot/gateway.js';
import { createLogger } from '../../../src/log.js';
import { startTestGateway } from '../../support/gateway.js';

const options = (via: string, port: number) => [
  'OPTIONS sip:127.0.0.1 SIP/2.0', `Via: SIP/2.0/${via} 127.0.0.1:${port};branch=z9hG4bK${Math.random().toString(36).slice(2)}`,
  'From: <sip:probe@127.0.0.1>;tag=p1', 'To: <sip:127.0.0.1>', `Call-ID: ${Math.random()}`, 'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', '',
].join('\r\n');

/** The gateway's SIP listeners beyond UDP/TCP, switched on by config: TLS for carriers, WSS for browsers. */
describe('gateway: SIP over TLS and WebSocket from config', function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), 'wl-sip-tls-'));
  let g: Gateway;
  let cert: string;

  before(async () => {
    const pems = await generate([{ name: 'commonName', value: 'warmline-test' }], {
      keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notAfterDate: new Date(Date.now() + 86_400_000),
      extensions: [{ name: 'basicConstraints', cA: true }, { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    cert = pems.cert;
    writeFileSync(join(dir, 'cert.pem'), pems.cert);
    writeFileSync(join(dir, 'key.pem'), pems.private);
    const files = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
    g = await startTestGateway({ sip: { tls: { enabled: true, port: 0, ...files }, ws: { enabled: true, port: 0, ...files } } });
  });
  after(async () => {
    await g?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers OPTIONS over TLS and over WSS (sub-protocol sip), next to UDP and TCP', async () => {
    const byProto = Object.fromEntries(g.sipListeners.map((l) => [l.protocol, l]));
    assert.deepEqual(Object.keys(byProto).sort(), ['TCP', 'TLS', 'UDP', 'WSS']);

    const s = tlsConnect({ host: '127.0.0.1', port: byProto.TLS!.port, ca: cert });
    await once(s, 'secureConnect');
    s.write(options('TLS', s.localPort!));
    const [tlsReply] = (await once(s, 'data')) as [Buffer];
    assert.match(tlsReply.toString(), /^SIP\/2\.0 200/);
    s.destroy();

    const ws = new WebSocket(`wss://127.0.0.1:${byProto.WSS!.port}`, 'sip', { ca: cert });
    await once(ws, 'open');
    ws.send(options('WSS', 9));
    const [wsReply] = (await once(ws, 'message')) as [Buffer];
    assert.match(wsReply.toString(), /^SIP\/2\.0 200/);
    ws.close();
  });

  it('TLS enabled without a certificate is a config error naming the key; a missing file names the path', async () => {
    assert.throws(() => loadConfig({ env: {}, overrides: { sip: { tls: { enabled: true } } } }), (e: unknown) => e instanceof ConfigInvalidError && /sip\.tls\.certFile/.test(e.message));
    const config = loadConfig({ env: {}, overrides: { server: { httpPort: 0 }, sip: { port: 0, tls: { enabled: true, port: 0, certFile: join(dir, 'nope.pem'), keyFile: join(dir, 'key.pem') } }, log: { level: 'silent' } } });
    await assert.rejects(startGateway(config, { log: createLogger('silent') }), /WL_ERR_SIP_CERTIFICATE|sip\.tls\.certFile '.*nope\.pem' cannot be read: no such file/);
  });
});
