import assert from 'node:assert/strict';
import { SipRequest, SipTransportError, TlsTransport, UserAgent, type Destination, type SipResponse } from '../../../../sip/index.js';
import { TestCa } from '../../../support/test-ca.js';

/**
 * Outbound TLS checks the name we were configured with (RFC 5922 §4.1), not the address the
 * name resolved to: the peers here listen on 127.0.0.1 with certificates that name hosts only.
 */
describe('sip/transport: TLS host-name verification of the peers we connect to', function () {
  this.timeout(20_000);
  let ca: TestCa;
  let us: TlsTransport;
  let ua: UserAgent;
  const peers: Array<{ t: TlsTransport; ua: UserAgent }> = [];
  let n = 0;

  async function peer(names: { dns?: string[]; ip?: string[] }): Promise<TlsTransport> {
    const t = await TlsTransport.bind('127.0.0.1', 0, { server: await ca.issue(names) });
    peers.push({ t, ua: new UserAgent({ transport: t }) });
    return t;
  }

  function options(to: Destination): Promise<SipResponse> {
    const req = new SipRequest('OPTIONS', `sip:127.0.0.1:${to.port};transport=tls`);
    for (const [k, v] of [['max-forwards', '70'], ['from', `<${ua.contact}>;tag=h${n}`], ['to', `<sip:127.0.0.1:${to.port}>`], ['call-id', `hostname-${n++}`], ['cseq', '1 OPTIONS']] as const) req.setHeader(k, v);
    return ua.sendRequest(req, to);
  }

  async function refusal(to: Destination): Promise<SipTransportError> {
    const err = await options(to).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SipTransportError, `refused with a transport error, got ${String(err)}`);
    return err;
  }

  before(async () => {
    ca = await TestCa.create();
    // Our own transport trusts nothing but Node's public CAs: each destination brings its CA.
    us = await TlsTransport.bind('127.0.0.1', 0, { server: await ca.issue({ ip: ['127.0.0.1'] }) });
    ua = new UserAgent({ transport: us });
  });
  after(async () => {
    await ua.close();
    await us.close();
    for (const p of peers) { await p.ua.close(); await p.t.close(); }
  });

  it('accepts a certificate for the configured name although the address is not in it', async () => {
    const p = await peer({ dns: ['registrar.carrier.test'] });
    const res = await options({ address: '127.0.0.1', port: p.local.port, transport: 'tls', tls: { serverName: 'registrar.carrier.test', ca: ca.root.cert } });
    assert.equal(res.status, 200);
  });

  it('refuses a certificate for another host name with SIP_ERR_TLS_CERTIFICATE (ERR_TLS_CERT_ALTNAME_INVALID)', async () => {
    const p = await peer({ dns: ['other.carrier.test'] });
    const err = await refusal({ address: '127.0.0.1', port: p.local.port, transport: 'tls', tls: { serverName: 'registrar.carrier.test', ca: ca.root.cert } });
    assert.equal(err.code, 'SIP_ERR_TLS_CERTIFICATE');
    assert.equal(err.context.reason, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.match(err.message, /registrar\.carrier\.test/);
    assert.equal(p.stats.received, 0, 'nothing was sent to it');
  });

  it('without a name, the address is what must be in the certificate', async () => {
    const named = await peer({ dns: ['registrar.carrier.test'] });
    const err = await refusal({ address: '127.0.0.1', port: named.local.port, transport: 'tls', tls: { ca: ca.root.cert } });
    assert.equal(err.context.reason, 'ERR_TLS_CERT_ALTNAME_INVALID');
    const byIp = await peer({ ip: ['127.0.0.1'] });
    assert.equal((await options({ address: '127.0.0.1', port: byIp.local.port, transport: 'tls', tls: { ca: ca.root.cert } })).status, 200);
  });

  it('refuses a certificate from a CA the destination does not trust (Node\'s public CAs by default)', async () => {
    const p = await peer({ dns: ['registrar.carrier.test'] });
    const err = await refusal({ address: '127.0.0.1', port: p.local.port, transport: 'tls', tls: { serverName: 'registrar.carrier.test' } });
    assert.equal(err.code, 'SIP_ERR_TLS_CERTIFICATE');
    assert.match(String(err.context.reason), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
  });

  it('a wildcard certificate covers one label, as Node matches it', async () => {
    const p = await peer({ dns: ['*.carrier.test'] });
    assert.equal((await options({ address: '127.0.0.1', port: p.local.port, transport: 'tls', tls: { serverName: 'sip.carrier.test', ca: ca.root.cert } })).status, 200);
    const err = await refusal({ address: '127.0.0.1', port: p.local.port, transport: 'tls', tls: { serverName: 'a.sip.carrier.test', ca: ca.root.cert } });
    assert.equal(err.context.reason, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('a connection verified for one name is not reused for another', async () => {
    const p = await peer({ dns: ['a.carrier.test'] });
    const to = { address: '127.0.0.1', port: p.local.port, transport: 'tls' as const };
    assert.equal((await options({ ...to, tls: { serverName: 'a.carrier.test', ca: ca.root.cert } })).status, 200);
    assert.equal((await options({ ...to, tls: { serverName: 'a.carrier.test', ca: ca.root.cert } })).status, 200);
    assert.equal(p.stats.opened, 1, 'the second request reused the connection');
    const err = await refusal({ ...to, tls: { serverName: 'b.carrier.test', ca: ca.root.cert } });
    assert.equal(err.code, 'SIP_ERR_TLS_CERTIFICATE');
  });

  it('connections to one address for two names live side by side: neither cuts the other', async () => {
    // One carrier edge serving two domains on one address (SNI), as registrations to both do.
    const p = await peer({ dns: ['one.carrier.test', 'two.carrier.test'] });
    const to = { address: '127.0.0.1', port: p.local.port, transport: 'tls' as const };
    const one = { ...to, tls: { serverName: 'one.carrier.test', ca: ca.root.cert } };
    const two = { ...to, tls: { serverName: 'two.carrier.test', ca: ca.root.cert } };
    // Both connections come up at once (a new one used to destroy the other's, failing its request).
    const [a, b] = await Promise.all([options(one), options(two)]);
    assert.deepEqual([a.status, b.status], [200, 200]);
    assert.equal((await options(one)).status, 200);
    assert.equal((await options(two)).status, 200);
    assert.equal(p.stats.opened, 2, 'one connection per name, each reused');
    // A name the certificate does not carry fails as a certificate problem, and the others stay up.
    assert.equal((await refusal({ ...to, tls: { serverName: 'three.carrier.test', ca: ca.root.cert } })).code, 'SIP_ERR_TLS_CERTIFICATE');
    assert.equal((await options(one)).status, 200);
    assert.equal(p.stats.opened, 2);
  });
});

describe('sip/transport: TLS client certificates', function () {
  this.timeout(20_000);

  it('a peer that requires one refuses us without it at once (not at Timer F), and answers with it', async () => {
    const ca = await TestCa.create();
    const strict = await TlsTransport.bind('127.0.0.1', 0, { server: { ...(await ca.issue({ dns: ['edge.carrier.test'] })), requestCert: true, rejectUnauthorized: true, ca: ca.root.cert } });
    const strictUa = new UserAgent({ transport: strict });
    const us = await TlsTransport.bind('127.0.0.1', 0, { server: await ca.issue({ ip: ['127.0.0.1'] }) });
    // Timer F of 64 s: a refusal seen only at Timer F would fail this test by its timeout.
    const ua = new UserAgent({ transport: us, timers: { T1: 1000, T2: 4000, T4: 5000 } });
    const request = (n: number, tls: Destination['tls']) => {
      const req = new SipRequest('OPTIONS', `sip:edge.carrier.test:${strict.local.port};transport=tls`);
      for (const [k, v] of [['max-forwards', '70'], ['from', `<${ua.contact}>;tag=c${n}`], ['to', '<sip:edge.carrier.test>'], ['call-id', `client-cert-${n}`], ['cseq', '1 OPTIONS']] as const) req.setHeader(k, v);
      return ua.sendRequest(req, { address: '127.0.0.1', port: strict.local.port, transport: 'tls', tls });
    };
    try {
      const err = await request(1, { serverName: 'edge.carrier.test', ca: ca.root.cert }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof SipTransportError, String(err));
      assert.equal(err.code, 'SIP_ERR_TRANSPORT', 'their refusal of our (missing) certificate is not a certificate of theirs we refused');
      const client = await ca.issue({ dns: ['gw.example.test'] });
      const res = await request(2, { serverName: 'edge.carrier.test', ca: ca.root.cert, cert: client.cert, key: client.key });
      assert.equal(res.status, 200);
    } finally {
      await ua.close();
      await us.close();
      await strictUa.close();
      await strict.close();
    }
  });
});
