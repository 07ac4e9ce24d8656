import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { UdpTransport, UserAgent } from '../../../sip/index.js';
import { RegistrationPool } from '../../../sip/registration/index.js';
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
  const esc = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const header = (text: string, name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(text)?.[1]?.trim();
  const headers = (text: string, name: string) => [...text.matchAll(new RegExp(`^${name}:\\s*(.*)$`, 'gim'))].map((m) => m[1]!.trim());
  /** A 200 to a request the gateway sent, with the dialog headers it needs. */
  const ok = (req: string, extra: string[] = [], body = '') => [
    'SIP/2.0 200 OK', ...req.split('\r\n').filter((l) => /^(via|from|to|call-id|cseq):/i.test(l)), ...extra,
    ...(body ? ['Content-Type: application/sdp'] : []), `Content-Length: ${Buffer.byteLength(body)}`, '', body,
  ].join('\r\n');

  before(async () => {
    // A registrar on a bare UDP socket: records each REGISTER and answers 200 with its Contact.
    registrar = dgram.createSocket('udp4');
    registrar.on('message', (m, rinfo) => {
      const text = m.toString('utf8');
      if (text.startsWith('OPTIONS ')) {
        registers.push(text);
        registrar.send(ok(text), rinfo.port, rinfo.address);
        return;
      }
      if (!text.startsWith('REGISTER ')) return;
      registers.push(text);
      const keep = text.split('\r\n').filter((l) => /^(via|from|call-id|cseq|contact):/i.test(l));
      const to = text.split('\r\n').find((l) => /^to:/i.test(l))!;
      const res = ['SIP/2.0 200 OK', ...keep, `${to};tag=reg1`, 'Expires: 600', 'Content-Length: 0', '', ''].join('\r\n');
      registrar.send(res, rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => registrar.bind(0, '127.0.0.1', () => r()));
    g = await startTestGateway({
      media: { host: '127.0.0.1', advertise: MEDIA_PUBLIC },
      // Session timers down to 1 s, so that the gateway's own refresh (a re-INVITE) comes within the test.
      sip: { host: '127.0.0.1', advertise: SIP_PUBLIC, minSessionExpiresS: 1 },
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

  it('a call through a record-routing proxy: the Record-Route comes back as sent, and the gateway\'s re-INVITE, ACK and BYE carry the advertised host in Via and Contact and the route set in Route', async () => {
    const carrier = dgram.createSocket('udp4');
    await new Promise<void>((r) => carrier.bind(0, '127.0.0.1', () => r()));
    const port = carrier.address().port;
    const requests: string[] = [];
    const responses: string[] = [];
    const gw = { address: '127.0.0.1', port: g!.sip.port };
    const send = (text: string) => carrier.send(text, gw.port, gw.address);
    const sdp = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 40002 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');
    carrier.on('message', (m) => {
      const text = m.toString('utf8');
      if (text.startsWith('SIP/2.0 ')) { responses.push(text); return; }
      requests.push(text);
      // The gateway's re-INVITE (its session refresh) and BYE are answered 200; its ACK is not.
      if (text.startsWith('INVITE ')) send(ok(text, [`Contact: <sip:carrier@127.0.0.1:${port}>`, 'Session-Expires: 6;refresher=uac', 'Require: timer'], sdp));
      else if (text.startsWith('BYE ')) send(ok(text));
    });
    // Two proxies record-routed (the way a carrier's edge and core do); neither is the gateway.
    const rr = ['<sip:edge.carrier.test;lr;ftag=c1>', '<sip:127.0.0.1:' + port + ';lr>'];
    const callId = `adv-${Date.now()}`;
    const invite = [
      `INVITE sip:+15550002222@127.0.0.1:${gw.port} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKadv1;rport`,
      ...rr.map((r) => `Record-Route: ${r}`),
      `From: <sip:+15550001111@carrier.test>;tag=c1`, `To: <sip:+15550002222@127.0.0.1>`, `Call-ID: ${callId}`, 'CSeq: 1 INVITE',
      `Contact: <sip:carrier@127.0.0.1:${port}>`, 'Max-Forwards: 70', 'Allow: INVITE, ACK, BYE, CANCEL, OPTIONS',
      'Supported: timer', 'Session-Expires: 6;refresher=uas', 'Min-SE: 1',
      'Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(sdp)}`, '', sdp,
    ].join('\r\n');
    try {
      // What was on the wire, for a failure's message.
      const seen = () => `\n${[...requests, ...responses].map((m) => m.split('\r\n')[0]).join('\n')}`;
      const wait = (cond: () => boolean, what: string) => until(cond, what, 20_000).catch((err: Error) => { throw new Error(err.message + seen()); });
      // Retransmitted as a UDP client would (Timer A) until the gateway answers, however busy the machine.
      send(invite);
      const timerA = setInterval(() => { if (!responses.some((r) => r.includes('CSeq: 1 INVITE'))) send(invite); }, 500);
      await wait(() => responses.some((r) => r.startsWith('SIP/2.0 200') && r.includes('CSeq: 1 INVITE')), 'the 200 to our INVITE').finally(() => clearInterval(timerA));
      const answer = responses.find((r) => r.startsWith('SIP/2.0 200') && r.includes('CSeq: 1 INVITE'))!;
      // §12.1.1: the UAS copies Record-Route into its 2xx, in order, and adds none of its own.
      assert.deepEqual(headers(answer, 'record-route').flatMap((h) => h.split(/\s*,\s*(?=<)/)), rr);
      assert.match(header(answer, 'contact')!, new RegExp(`<sip:${esc(SIP_PUBLIC)}:${gw.port}>`));
      send([
        `ACK sip:carrier@127.0.0.1:${gw.port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKadv2;rport`,
        `From: <sip:+15550001111@carrier.test>;tag=c1`, `To: ${header(answer, 'to')}`, `Call-ID: ${callId}`, 'CSeq: 1 ACK', 'Max-Forwards: 70', 'Content-Length: 0', '', '',
      ].join('\r\n'));
      // The gateway refreshes the session (refresher=uas) at half of 6 s, by re-INVITE (no UPDATE in our Allow).
      await wait(() => requests.some((r) => r.startsWith('INVITE ')) && requests.some((r) => r.startsWith('ACK ')), "the gateway's re-INVITE and its ACK");
      // Hung up from our side; on a machine so loaded that the refresh timer fired late, the session
      // may have expired first: its BYE is the gateway's BYE all the same, and is checked the same way.
      const call = g!.calls.view().active.find((c) => c.callId === callId);
      if (call) g!.calls.hangup(call.id);
      else assert.equal(g!.calls.view().recent.find((c) => c.callId === callId)?.endReason, 'session-expired', seen());
      await wait(() => requests.some((r) => r.startsWith('BYE ')), "the gateway's BYE");
      for (const method of ['INVITE', 'ACK', 'BYE']) {
        const req = requests.find((r) => r.startsWith(`${method} `))!;
        const via = headers(req, 'via');
        assert.equal(via.length, 1, `${method}: one Via, ours`);
        assert.match(via[0]!, new RegExp(`^SIP/2\\.0/UDP ${esc(SIP_PUBLIC)}:${gw.port};`), `${method} Via`);
        // §12.2.1.1: the route set is the Record-Route as received (the UAS does not reverse it).
        assert.deepEqual(headers(req, 'route').flatMap((h) => h.split(/\s*,\s*(?=<)/)), rr, `${method} Route`);
        const contact = header(req, 'contact');
        if (method === 'INVITE') assert.match(contact ?? '', new RegExp(`<sip:${esc(SIP_PUBLIC)}:${gw.port}>`), 're-INVITE Contact');
        assert.doesNotMatch(req.slice(0, req.indexOf('\r\n\r\n')), new RegExp(`127\\.0\\.0\\.1:${gw.port}\\b`), `${method}: the bound address nowhere in its headers\n${req}`);
      }
      const reinvite = requests.find((r) => r.startsWith('INVITE '))!;
      assert.match(reinvite.slice(reinvite.indexOf('\r\n\r\n') + 4), /^c=IN IP4 127\.0\.0\.77\r?$/m, 're-INVITE SDP keeps the advertised media address');
    } finally {
      carrier.close();
    }
  });

  it('a registration pool on a UA with an advertised host: OPTIONS keepalives carry it in Via as REGISTER does', async () => {
    const transport = await UdpTransport.bind('127.0.0.1', 0);
    const ua = new UserAgent({ transport, advertise: SIP_PUBLIC, timers: { T1: 100, T2: 400, T4: 500 } });
    const pool = new RegistrationPool({ ua, keepaliveMs: 200 });
    const before = registers.length;
    try {
      pool.add({ id: 'keepalive', user: 'ka', domain: '127.0.0.1', registrar: { host: '127.0.0.1', port: registrar.address().port } });
      await until(() => registers.slice(before).some((r) => r.startsWith('OPTIONS ')), 'an OPTIONS keepalive', 10_000);
      for (const req of registers.slice(before)) {
        assert.match(header(req, 'via')!, new RegExp(`^SIP/2\\.0/UDP ${esc(SIP_PUBLIC)}:${transport.local.port};`));
        assert.doesNotMatch(headers(req, 'via').concat(headers(req, 'contact')).join('\n'), /127\.0\.0\.1/);
      }
    } finally {
      await pool.close();
      await ua.close();
      await transport.close();
    }
  });
});
