import assert from 'node:assert/strict';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway, leasesOut } from '../../support/gateway.js';
import { Dnsmasq } from '../../support/dnsmasq.js';
import { freeUdpPort } from '../../support/kamailio.js';
import { until } from '../../support/wait.js';
import { api, startTrunk, startUas, trunkAccount, type Api, type Trunk } from './support.js';

/**
 * RFC 3263 §4.3 on the INVITEs we send: the trunk's proxy is a name whose SRV records list two
 * targets. The first (priority 10) is a sipp that answers 503 Service Unavailable; the call must
 * go on to the second (priority 20), the Kamailio trunk, and be answered there. A real DNS
 * server (dnsmasq) serves the records on loopback.
 */
describe('outbound: an INVITE fails over to the next RFC 3263 target on 503', function () {
  this.timeout(90_000);
  let t: Trunk;
  let dns: Dnsmasq;
  let g: Gateway;
  let a: Api;
  let outOfService: number;

  before(async () => {
    t = await startTrunk();
    outOfService = await freeUdpPort();
    dns = new Dnsmasq({
      ttl: 60,
      srv: [`_sip._udp.trunk.test,down.trunk.test,${outOfService},10,0`, `_sip._udp.trunk.test,up.trunk.test,${t.registrar.port},20,0`],
      hosts: ['down.trunk.test,127.0.0.1', 'up.trunk.test,127.0.0.1'],
    });
    await dns.start();
    g = await startTestGateway({
      media: { rtpTimeoutMs: 0 },
      sip: { dnsServers: [dns.server] },
      // The registration goes straight to Kamailio; the INVITEs go to the name (SRV, no port).
      registrations: [trunkAccount(t)],
      outbound: { ringTimeoutS: 8, trunks: [{ id: 'acme', maxConcurrent: 4, callsPerSecond: 20, proxy: { host: 'trunk.test' } }] },
    } as Parameters<typeof startTestGateway>[0]);
    a = api(g.opsUrl);
  });
  after(async () => {
    await g?.close();
    await dns?.stop();
    await t?.kamailio.dispose();
  });

  it('the first target answers 503: the INVITE goes to the second, which answers; DELETE ends the call', async () => {
    const down = await startUas('uas-503.xml', outOfService, await freeUdpPort());
    const up = await startUas('uas-answer-wait.xml', t.uasPort, t.mediaPort);
    try {
      const { id } = await a.answered({ to: '+15550000501', trunk: 'acme' }, 'answered by the second target');
      const first = await down.done;
      assert.equal(first.code, 0, `the first target got the INVITE, answered 503 and got its ACK: ${first.out.slice(-1500)}`);
      assert.ok(dns.queries('SRV', '_sip._udp.trunk.test') >= 1, 'the targets came from the SRV records');
      assert.equal((await a.del(id)).status, 200);
      assert.equal((await a.until(id, (v) => v.state === 'ended', 'ended')).reason, 'hangup');
      assert.equal((await up.done).code, 0, 'the second target got our BYE');
      await until(() => leasesOut(g) === 0, 'every lease back');
    } finally {
      down.stop();
      up.stop();
    }
  });
});
