import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { Registry } from 'prom-client';
import { UdpTransport } from '../../../sip/index.js';
import { SipRejections } from '../../../src/boot/sip-rejections.js';
import { createLogger } from '../../../src/log.js';
import { until } from '../../support/wait.js';

describe('boot: SIP refusals on /metrics and in the log (rate-limited)', function () {
  this.timeout(20_000);

  it('counts warmline_sip_rejected_total{reason} for every refusal and logs one line per reason per window', async () => {
    const udp = await UdpTransport.bind('127.0.0.1', 0);
    const registry = new Registry();
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger('info', { write: (l: string) => { lines.push(JSON.parse(l) as Record<string, unknown>); } });
    new SipRejections({ registry, log, logEveryMs: 60_000 }).watch([udp]);
    const peer = createSocket('udp4');
    try {
      const badLine = 'INVITE  sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: r1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';
      for (let i = 0; i < 5; i++) peer.send(badLine, udp.local.port, '127.0.0.1');
      peer.send('OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nMax-Forwards: seventy\r\n\r\n', udp.local.port, '127.0.0.1');
      await until(() => (udp.stats.rejections['start-line'] ?? 0) === 5 && udp.stats.rejections['max-forwards'] === 1, 'six refusals');
      const text = await registry.metrics();
      assert.match(text, /warmline_sip_rejected_total\{reason="start-line"\} 5/);
      assert.match(text, /warmline_sip_rejected_total\{reason="max-forwards"\} 1/);
      const logged = lines.filter((l) => l.msg === 'SIP refused');
      assert.deepEqual(logged.map((l) => l.reason).sort(), ['max-forwards', 'start-line'], 'one line per reason, the other four start-line refusals suppressed');
      assert.equal(logged.find((l) => l.reason === 'start-line')!.transport, 'UDP');
    } finally {
      peer.close();
      await udp.close();
    }
  });
});
