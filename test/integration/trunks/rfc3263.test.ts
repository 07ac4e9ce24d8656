import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { UdpTransport, UserAgent } from '../../../sip/index.js';
import { CachingDns, resolveSipTargets } from '../../../sip/dns/index.js';
import { RegistrationPool } from '../../../sip/registration/index.js';
import type { Gateway } from '../../../src/boot/gateway.js';
import { Dnsmasq } from '../../support/dnsmasq.js';
import { startTestGateway } from '../../support/gateway.js';
import { Kamailio } from '../../support/kamailio.js';
import { until } from '../../support/wait.js';

/** A registrar that is up but refuses service: every REGISTER gets 503 (RFC 3263 §4.3: try the next). */
async function busyRegistrar(): Promise<{ port: number; hits: () => number; close(): void }> {
  const s = dgram.createSocket('udp4');
  let hits = 0;
  s.on('message', (m, rinfo) => {
    const text = m.toString('utf8');
    if (!text.startsWith('REGISTER ')) return;
    hits++;
    const keep = text.split('\r\n').filter((l) => /^(via|from|to|call-id|cseq):/i.test(l));
    s.send(['SIP/2.0 503 Service Unavailable', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return { port: s.address().port, hits: () => hits, close: () => s.close() };
}

/**
 * RFC 3263 against a real DNS server (dnsmasq on loopback) and real registrars (Kamailio):
 * NAPTR → SRV (priority) → A, failover to the next target on timeout and on 503, TTL caching.
 */
describe('trunks: RFC 3263 resolution and failover with dnsmasq and Kamailio', function () {
  this.timeout(60_000);
  let dns: Dnsmasq;
  let down: Kamailio;
  let up: Kamailio;
  let busy: Awaited<ReturnType<typeof busyRegistrar>>;

  before(async () => {
    down = new Kamailio();
    up = new Kamailio();
    await Promise.all([down.start(), up.start()]);
    await down.stop(); // its port stays known (the SRV record points at it) but nothing answers there
    busy = await busyRegistrar();
    dns = new Dnsmasq({
      ttl: 30,
      naptr: ['trunk.test,10,10,S,SIP+D2U,,_sip._udp.trunk.test'],
      srv: [
        `_sip._udp.trunk.test,dead.trunk.test,${down.port},10,0`,
        `_sip._udp.trunk.test,live.trunk.test,${up.port},20,0`,
        // busy.test has no NAPTR: SRV straight away (RFC 3263 §4.1 "if no NAPTR records are found").
        `_sip._udp.busy.test,busy.trunk.test,${busy.port},10,0`,
        `_sip._udp.busy.test,live.trunk.test,${up.port},20,0`,
        // Too many for a 512-byte UDP answer: dnsmasq truncates it (TC) and the client asks over TCP.
        ...Array.from({ length: 40 }, (_, i) => `_sip._udp.many.test,target-number-${i}.trunk.test,${5000 + i},10,${i}`),
      ],
      hosts: ['dead.trunk.test,127.0.0.1', 'live.trunk.test,127.0.0.1', 'v6.trunk.test,::1', 'busy.trunk.test,127.0.0.1'],
    });
    await dns.start();
  });
  after(async () => {
    await dns?.stop();
    await down?.dispose();
    await up?.dispose();
    busy?.close();
  });

  it('resolves NAPTR → SRV → A in priority order from the DNS server', async () => {
    const targets = await resolveSipTargets({ host: 'trunk.test' }, new CachingDns({ servers: [dns.server] }));
    assert.deepEqual(targets.map((t) => `${t.transport}:${t.address}:${t.port}`), [`udp:127.0.0.1:${down.port}`, `udp:127.0.0.1:${up.port}`]);
    assert.equal(dns.queries('NAPTR', 'trunk.test'), 1);
    assert.deepEqual(await new CachingDns({ servers: [dns.server] }).resolve6('v6.trunk.test'), ['::1']);
  });

  it('takes a truncated answer again over TCP', async () => {
    const srv = await new CachingDns({ servers: [dns.server] }).resolveSrv('_sip._udp.many.test');
    assert.equal(srv.length, 40);
    assert.deepEqual(srv.map((r) => r.port).sort(), Array.from({ length: 40 }, (_, i) => 5000 + i).sort());
  });

  it('caches each answer for its TTL, then asks the server again', async () => {
    let now = 1_000_000;
    const cache = new CachingDns({ servers: [dns.server], now: () => now });
    const before = dns.queries('SRV', '_sip._udp.busy.test');
    const first = await cache.resolveSrv('_sip._udp.busy.test');
    assert.equal(first.length, 2);
    assert.equal(dns.queries('SRV', '_sip._udp.busy.test'), before + 1);
    now += 29_000; // inside the 30 s TTL dnsmasq gave
    assert.deepEqual(await cache.resolveSrv('_sip._udp.busy.test'), first);
    assert.equal(dns.queries('SRV', '_sip._udp.busy.test'), before + 1, 'answered from the cache');
    now += 2_000; // past it
    assert.equal((await cache.resolveSrv('_sip._udp.busy.test')).length, 2);
    assert.equal(dns.queries('SRV', '_sip._udp.busy.test'), before + 2, 'expired: asked again');
    // A name with no records is remembered too (negative caching), and for no longer than its TTL.
    const n0 = dns.queries('A', 'nothing.test');
    assert.deepEqual(await cache.resolve4('nothing.test'), []);
    assert.deepEqual(await cache.resolve4('nothing.test'), []);
    assert.equal(dns.queries('A', 'nothing.test'), n0 + 1);
  });

  it('registers on the second SRV target when the first registrar is down (transaction timeout)', async () => {
    const transport = await UdpTransport.bind('127.0.0.1', 0);
    // Short SIP timers so the dead registrar's Timer F (64·T1) fires in 3.2 s rather than 32 s.
    const ua = new UserAgent({ transport, timers: { T1: 50, T2: 400, T4: 500 } });
    const pool = new RegistrationPool({ ua, dns: new CachingDns({ servers: [dns.server] }), keepaliveMs: 0, backoff: { baseMs: 100 } });
    const states: string[] = [];
    pool.on('state', (_id, s) => states.push(s));
    try {
      pool.add({ id: 'carol', user: 'carol', domain: '127.0.0.1', registrar: { host: 'trunk.test' }, password: Kamailio.password('carol') });
      await until(() => pool.ready, 'registered on the live registrar', 30_000);
      assert.equal(pool.snapshot('carol')!.target, `127.0.0.1:${up.port}`);
      assert.ok(states.includes('backoff'), `the dead one was tried first: ${states.join(' → ')}`);
      assert.equal((await up.bindings('carol')).length, 1);
    } finally {
      await pool.close();
      await ua.close();
      await transport.close();
    }
  });

  it('keeps refreshing on the last known targets when the DNS server goes away', async () => {
    const own = new Dnsmasq({ ttl: 30, srv: [`_sip._udp.outage.test,live.trunk.test,${up.port},10,0`], hosts: ['live.trunk.test,127.0.0.1'] });
    await own.start();
    const transport = await UdpTransport.bind('127.0.0.1', 0);
    const ua = new UserAgent({ transport, timers: { T1: 50, T2: 400, T4: 500 } });
    let skew = 0; // moves the cache's clock past every TTL once the DNS server is gone
    const pool = new RegistrationPool({ ua, dns: new CachingDns({ servers: [own.server], timeoutMs: 200, now: () => Date.now() + skew }), keepaliveMs: 0, backoff: { baseMs: 100 } });
    try {
      pool.add({ id: 'erin', user: 'erin', domain: '127.0.0.1', registrar: { host: 'outage.test' }, password: Kamailio.password('erin'), expires: 2 });
      await until(() => pool.ready, 'registered', 15_000);
      const first = pool.snapshot('erin')!.lastSuccessAt!;
      await own.stop();
      skew = 3_600_000;
      await until(() => (pool.snapshot('erin')!.lastSuccessAt ?? 0) > first, 'a refresh after the DNS server stopped', 15_000);
      assert.equal(pool.snapshot('erin')!.state, 'registered');
      assert.equal(pool.snapshot('erin')!.target, `127.0.0.1:${up.port}`);
    } finally {
      await pool.close();
      await ua.close();
      await transport.close();
      await own.stop();
    }
  });

  describe('the gateway, pointed at the DNS server by sip.dnsServers', () => {
    let g: Gateway | undefined;
    after(async () => { await g?.close(); });

    it('registers a registrar named by host through SRV, past a 503 on the first target', async () => {
      g = await startTestGateway({
        sip: { dnsServers: [dns.server] },
        registrations: [{ id: 'dave', user: 'dave', domain: '127.0.0.1', registrar: { host: 'busy.test' }, password: Kamailio.password('dave') }],
      });
      await until(async () => (await up.bindings('dave')).length === 1, 'dave bound at the live registrar', 20_000);
      assert.ok(busy.hits() >= 1, 'the 503 registrar (priority 10) was asked first');
      assert.ok(dns.queries('SRV', '_sip._udp.busy.test') >= 1);
    });
  });
});
