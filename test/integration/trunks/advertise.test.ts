import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type { Gateway } from '../../../src/boot/gateway.js';
import { startTestGateway } from '../../support/gateway.js';
import { RawUac } from '../../support/sip-uac.js';
import { until } from '../../support/wait.js';

/**
 * sip.advertise / media.advertise: the gateway binds 127.0.0.1 but tells peers a public name
 * (Via sent-by, Contact) and a public media address (SDP c=, o=), as behind NAT or a balancer.
 */
describe('trunks: advertised SIP and media addresses on the wire', function () {
  this.timeout(30_000);
  const SIP_PUBLIC = 'gw.example.test';
  const MEDIA_PUBLIC = '127.0.0.77';
  let g: Gateway | undefined;
  let registrar: dgram.Socket;
  const registers: string[] = [];

  before(async () => {
    // A registrar on a bare UDP socket: records each REGISTER and answers 200 with its Contact.
    registrar = dgram.createSocket('udp4');
    registrar.on('message', (m, rinfo) => {
      const text = m.toString('utf8');
      if (!text.startsWith('REGISTER ')) return;
      registers.push(text);
      const keep = text.split('\r\n').filter((l) => /^(via|from|call-id|cseq|contact):/i.test(l));
      const to = text.split('\r\n').find((l) => /^to:/i.test(l))!;
      const res = ['SIP/2.0 200 OK', ...keep, `${to};tag=reg1`, 'Expires: 600', 'Content-Length: 0', '', ''].join('\r\n');
      registrar.send(res, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => registrar.bind(0, '127.0.0.1', () => r()));
    g = await startTestGateway({
      sip: { host: '127.0.0.1', advertise: SIP_PUBLIC },
      media: { host: '127.0.0.1', advertise: MEDIA_PUBLIC },
      registrations: [{ id: 'adv', user: 'adv', domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: registrar.address().port } }],
    });
  });
  after(async () => {
    await g?.close();
    registrar.close();
  });

  it('binds 127.0.0.1 and registers with the advertised host in Via sent-by and Contact', async () => {
    assert.equal(g!.sip.address, '127.0.0.1');
    await until(() => registers.length > 0, 'a REGISTER at the registrar');
    const reg = registers[0]!;
    const via = /^via:\s*(.*)$/im.exec(reg)![1]!;
    assert.match(via, new RegExp(`^SIP/2\\.0/UDP ${SIP_PUBLIC.replace(/\./g, '\\.')}:${g!.sip.port};`));
    assert.match(/^contact:\s*(.*)$/im.exec(reg)![1]!, new RegExp(`<sip:${SIP_PUBLIC.replace(/\./g, '\\.')}:${g!.sip.port}>`));
    assert.doesNotMatch(reg.split('\r\n').filter((l) => /^(via|contact):/i.test(l)).join('\n'), /127\.0\.0\.1/);
  });

  it('answers an INVITE with the advertised Contact and the advertised media address in c= and o=', async () => {
    const uac = await RawUac.bind();
    try {
      const res = await uac.invite({ address: '127.0.0.1', port: g!.sip.port }, '+15550001111');
      assert.equal(res.status, 200, res.text);
      assert.match(res.header('contact') ?? '', new RegExp(`sip:${SIP_PUBLIC.replace(/\./g, '\\.')}:${g!.sip.port}`));
      const body = res.text.slice(res.text.indexOf('\r\n\r\n') + 4);
      assert.match(body, /^c=IN IP4 127\.0\.0\.77\r?$/m);
      assert.match(body, /^o=\S+ \d+ \d+ IN IP4 127\.0\.0\.77\r?$/m);
      assert.doesNotMatch(body, /127\.0\.0\.1/);
    } finally {
      uac.close();
    }
  });
});
