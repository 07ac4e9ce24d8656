import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigInvalidError, loadConfig, type DeepPartial, type WarmlineConfig } from '../../../src/config/index.js';
import { TlsTransport, UdpTransport, UserAgent } from '../../../sip/index.js';
import { carrierAccounts, registeredContact } from '../../../src/boot/registration-accounts.js';
import { TestCa } from '../../support/test-ca.js';

const registrar = { host: 'sip.carrier.test', transport: 'tls' as const };
const account = { id: 'c1', user: 'u', domain: 'carrier.test', registrar };
const tlsOn = { enabled: true, certFile: '/x/cert.pem', keyFile: '/x/key.pem' };

function refusal(overrides: DeepPartial<WarmlineConfig>): string {
  try {
    loadConfig({ env: {}, overrides });
  } catch (err) {
    assert.ok(err instanceof ConfigInvalidError, String(err));
    return err.message;
  }
  assert.fail('the configuration was accepted');
}

describe('config: TLS registrations (registrations[].tls, sip.tls.caFile)', () => {
  it('a TLS registration needs the TLS listener (the carrier calls back over TLS)', () => {
    assert.match(refusal({ registrations: [account] }), /registrations\.0\.registrar\.transport.*sip\.tls\.enabled/);
  });

  it('tls settings on a registration that does not use TLS are refused', () => {
    assert.match(refusal({ registrations: [{ ...account, registrar: { host: 'x.test', transport: 'udp' }, tls: { serverName: 'x.test' } }] }), /registrations\.0\.tls/);
  });

  it('a client certificate needs its key; a server name must be a host name or an IP', () => {
    assert.match(refusal({ sip: { tls: tlsOn }, registrations: [{ ...account, tls: { certFile: '/x/c.pem' } }] }), /certFile/);
    assert.match(refusal({ sip: { tls: tlsOn }, registrations: [{ ...account, tls: { serverName: 'not a host' } }] }), /serverName/);
  });

  it('a valid one loads, and its PEM files are read at start (a missing one names its key)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wl-reg-tls-'));
    try {
      const ca = join(dir, 'ca.pem');
      writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n');
      const c = loadConfig({ env: {}, overrides: { sip: { tls: { ...tlsOn, caFile: ca } }, registrations: [{ ...account, tls: { serverName: 'edge.carrier.test', caFile: ca } }] } });
      assert.equal(c.sip.tls.caFile, ca);
      const [a] = carrierAccounts(c.registrations);
      assert.deepEqual(a!.tls, { serverName: 'edge.carrier.test', ca: '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n' });
      const missing = loadConfig({ env: {}, overrides: { sip: { tls: tlsOn }, registrations: [{ ...account, tls: { caFile: join(dir, 'nope.pem') } }] } });
      assert.throws(() => carrierAccounts(missing.registrations), (err: Error & { code?: string }) => err.code === 'WL_ERR_SIP_CERTIFICATE' && /registrations\[0\]\.tls\.caFile/.test(err.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('boot: the Contact a registration registers, by its transport', function () {
  this.timeout(20_000);
  it('ours at the TLS listener with transport=tls; with registerHost the balancer, keeping the transport', async () => {
    const ca = await TestCa.create();
    const udp = await UdpTransport.bind('127.0.0.1', 0);
    const tls = await TlsTransport.bind('127.0.0.1', 0, { server: await ca.issue({ ip: ['127.0.0.1'] }) });
    const ua = new UserAgent({ transport: [udp, tls], advertise: 'gw.example.com' });
    try {
      const own = registeredContact(ua, '', 0);
      assert.equal(own(undefined), `sip:gw.example.com:${udp.local.port}`);
      assert.equal(own('udp'), `sip:gw.example.com:${udp.local.port}`);
      assert.equal(own('tls'), `sip:gw.example.com:${tls.local.port};transport=tls`);
      const lb = registeredContact(ua, 'lb.example.com', 0);
      assert.equal(lb('tls'), `sip:lb.example.com:${tls.local.port};transport=tls`);
      assert.equal(registeredContact(ua, '2001:db8::5', 5071)('tls'), 'sip:[2001:db8::5]:5071;transport=tls');
      assert.equal(registeredContact(ua, 'lb.example.com', 5999)(undefined), 'sip:lb.example.com:5999');
    } finally {
      await ua.close();
      await udp.close();
      await tls.close();
    }
  });
});
