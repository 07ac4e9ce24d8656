import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway, leasesOut } from '../../support/gateway.js';
import { sipp } from '../../support/sipp.js';
import { until } from '../../support/wait.js';

const SCENARIOS = fileURLToPath(new URL('./scenarios/', import.meta.url));
const KEY = 'WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz';

/** sipp as a carrier offering RTP/SAVP or RTP/AVP; the gateway under different SRTP policies. */
describe('trunks: SRTP policy and SDES negotiation against sipp', function () {
  this.timeout(60_000);
  const gateways: Gateway[] = [];
  after(async () => {
    for (const g of gateways.splice(0)) await g.close();
  });
  async function gateway(srtp: Record<string, unknown>): Promise<Gateway> {
    const g = await startTestGateway({ media: { srtp } });
    gateways.push(g);
    return g;
  }
  async function refused(g: Gateway, proto: string, attr: string): Promise<void> {
    const before = g.calls.view().totals.ended['setup-failed'] ?? 0;
    const r = await sipp(g.sip, ['-sf', `${SCENARIOS}invite-expect-488.xml`, '-s', '15550001000', '-key', 'proto', proto, '-key', 'attr', attr, '-m', '1']).done;
    assert.equal(r.code, 0, `sipp expected 488:\n${r.out}`);
    await until(() => (g.calls.view().totals.ended['setup-failed'] ?? 0) === before + 1, 'the refusal recorded');
    assert.equal(g.calls.activeCount, 0);
    assert.equal(leasesOut(g), 0);
  }

  it('offered: an RTP/SAVP offer is answered RTP/SAVP with exactly one a=crypto (first usable line, tag echoed)', async () => {
    const g = await gateway({ policy: 'offered' });
    const r = await sipp(g.sip, ['-sf', `${SCENARIOS}invite-savp-answered.xml`, '-s', '15550001000', '-m', '1']).done;
    assert.equal(r.code, 0, r.out);
    await until(() => g.calls.view().recent.length === 1, 'call ended');
    assert.equal(g.calls.view().recent[0]!.endReason, 'bye');
  });

  it('offered: an RTP/SAVP offer with only unsupported suites gets 488', async () => {
    const g = await gateway({ policy: 'offered' });
    await refused(g, 'RTP/SAVP', `a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:${KEY}${KEY}`);
    await refused(g, 'RTP/SAVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}|2^20|1:4`);
    await refused(g, 'RTP/SAVP', 'a=ptime:20');
  });

  it('off: RTP/SAVP gets 488 (never an SAVP answer without keys)', async () => {
    const g = await gateway({ policy: 'off' });
    await refused(g, 'RTP/SAVP', `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${KEY}`);
  });

  it('required, as the default or as the override for the trunk the INVITE comes from: RTP/AVP gets 488', async () => {
    await refused(await gateway({ policy: 'required' }), 'RTP/AVP', 'a=ptime:20');
    await refused(await gateway({ policy: 'offered', trunks: [{ source: '10.0.0.0/8', policy: 'off' }, { source: '127.0.0.0/8', policy: 'required' }] }), 'RTP/AVP', 'a=ptime:20');
  });
});
