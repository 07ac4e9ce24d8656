import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as tlsConnect } from 'node:tls';
import { generate } from 'selfsigned';
import { WebSocket } from 'ws';
import { parseMessage, SIP_WS_PROTOCOL, SipRequest, SipResponse, SipTransportError, TlsTransport, UserAgent, WsTransport, type IncomingCall } from '../../../../sip/index.js';
import { until } from '../../../support/wait.js';
import { options, SDP, StreamPeer } from './stream-peer.js';

async function certificate(): Promise<{ key: string; cert: string }> {
  const pems = await generate([{ name: 'commonName', value: 'warmline-sip-test' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 86_400_000),
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

describe('sip/transport: TLS with a self-signed certificate', function () {
  this.timeout(20_000);

  it('a client that trusts the certificate gets 200 for OPTIONS (Via SIP/2.0/TLS) and an INVITE is answered with Contact transport=tls', async () => {
    const pem = await certificate();
    const tls = await TlsTransport.bind('127.0.0.1', 0, { server: pem });
    const ua = new UserAgent({ transport: tls });
    ua.on('invite', (c: IncomingCall) => void c.answer(SDP).catch(() => undefined));
    const s = tlsConnect({ host: '127.0.0.1', port: tls.local.port, ca: pem.cert });
    try {
      await once(s, 'secureConnect');
      assert.ok(s.authorized, String(s.authorizationError));
      const p = new StreamPeer(s);
      await p.write(options('tls-1', s.localPort!, 'TLS'));
      const [res] = await p.waitFor(1);
      assert.equal((res as SipResponse).status, 200);
      assert.equal(res!.via[0]!.transport, 'TLS');
      await p.write(options('tls-2', s.localPort!, 'TLS', { method: 'INVITE', body: SDP }));
      const msgs = await p.waitFor(3);
      const ok = msgs.find((m): m is SipResponse => m instanceof SipResponse && m.status === 200 && m.cseq.method === 'INVITE')!;
      assert.match(ok.contact[0]!.uri, /;transport=tls$/);
    } finally {
      s.destroy();
      await ua.close();
      await tls.close();
    }
  });

  it('a request to a TLS peer opens a TLS connection that verifies the peer against the configured CA', async () => {
    const pem = await certificate();
    const a = await TlsTransport.bind('127.0.0.1', 0, { server: pem, client: { ca: pem.cert } });
    const b = await TlsTransport.bind('127.0.0.1', 0, { server: pem });
    const uaA = new UserAgent({ transport: a });
    const uaB = new UserAgent({ transport: b });
    try {
      const req = new SipRequest('OPTIONS', `sip:b@127.0.0.1:${b.local.port};transport=tls`);
      req.setHeader('max-forwards', '70');
      req.setHeader('from', `<${uaA.contact}>;tag=a1`);
      req.setHeader('to', `<sip:b@127.0.0.1:${b.local.port}>`);
      req.setHeader('call-id', 'tls-out-1');
      req.setHeader('cseq', '1 OPTIONS');
      const res = await uaA.sendRequest(req, { address: '127.0.0.1', port: b.local.port, transport: 'tls' });
      assert.equal(res.status, 200);
      assert.equal(req.via[0]!.transport, 'TLS');
      assert.equal(b.stats.opened, 1);
      assert.equal(b.stats.sent, 1, 'B answered on the connection A opened');
      // A peer whose certificate A does not trust: the handshake fails and the request fails with it.
      const other = await certificate();
      const c = await TlsTransport.bind('127.0.0.1', 0, { server: other });
      try {
        const req2 = new SipRequest('OPTIONS', `sip:c@127.0.0.1:${c.local.port};transport=tls`);
        for (const [k, v] of [['max-forwards', '70'], ['from', `<${uaA.contact}>;tag=a2`], ['to', `<sip:c@127.0.0.1:${c.local.port}>`], ['call-id', 'tls-out-2'], ['cseq', '1 OPTIONS']] as const) req2.setHeader(k, v);
        // Still a transport error (the transaction fails at once), with the certificate's own code.
        const err = await uaA.sendRequest(req2, { address: '127.0.0.1', port: c.local.port, transport: 'tls' }).then(() => undefined, (e: unknown) => e);
        assert.ok(err instanceof SipTransportError, String(err));
        assert.equal(err.code, 'SIP_ERR_TLS_CERTIFICATE');
        assert.equal(c.stats.received, 0);
      } finally {
        await c.close();
      }
    } finally {
      await uaA.close();
      await uaB.close();
      await a.close();
      await b.close();
    }
  });

  it('a plain-TCP peer on the TLS port fails its handshake and costs nothing else', async () => {
    const pem = await certificate();
    const tls = await TlsTransport.bind('127.0.0.1', 0, { server: pem });
    const { connect } = await import('node:net');
    const s = connect({ host: '127.0.0.1', port: tls.local.port });
    try {
      await once(s, 'connect');
      s.on('error', () => {});
      s.write(options('plain', s.localPort!));
      await once(s, 'close');
      assert.equal(tls.stats.received, 0);
      assert.equal(tls.connectionCount, 0);
    } finally {
      s.destroy();
      await tls.close();
    }
  });
});

describe('sip/transport: WebSocket (RFC 7118)', function () {
  this.timeout(20_000);
  let ws: WsTransport;
  let ua: UserAgent;
  const calls: IncomingCall[] = [];
  const clients: WebSocket[] = [];

  const open = async (protocol = SIP_WS_PROTOCOL): Promise<{ c: WebSocket; inbox: SipMessage[]; closed: Promise<number> }> => {
    const c = new WebSocket(`ws://127.0.0.1:${ws.local.port}/`, protocol ? [protocol] : []);
    clients.push(c);
    const closed = new Promise<number>((resolve) => c.once('close', (code: number) => resolve(code)));
    const inbox: SipMessage[] = [];
    c.on('message', (d: Buffer, isBinary: boolean) => {
      assert.equal(isBinary, false, 'SIP goes in text frames');
      inbox.push(parseMessage(Buffer.from(d)));
    });
    c.on('error', () => {});
    await once(c, 'open');
    return { c, inbox, closed };
  };
  type SipMessage = ReturnType<typeof parseMessage>;

  beforeEach(async () => {
    ws = await WsTransport.bind('127.0.0.1', 0, { limits: { maxMessageBytes: 4096, maxHeaders: 100, maxLineBytes: 1024 } });
    ua = new UserAgent({ transport: ws, timers: { T1: 100, T2: 400, T4: 500 } });
    ua.on('invite', (c) => {
      calls.push(c);
      void c.answer(SDP).catch(() => undefined);
    });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
    calls.length = 0;
    await ua.close();
    await ws.close();
  });

  it('the "sip" sub-protocol is agreed; INVITE is answered over the socket with Contact transport=ws; our BYE reaches the browser', async () => {
    const { c, inbox } = await open();
    assert.equal(c.protocol, 'sip');
    // a browser's Via host is a made-up .invalid name (RFC 7118 §5.2); responses go by connection, not by Via
    const invite = options('ws-1', 0, 'WS', { method: 'INVITE', body: SDP }).replace('127.0.0.1:0', 'df7jal23ls0d.invalid');
    c.send(invite);
    await until(() => inbox.some((m) => m instanceof SipResponse && m.status === 200), '200 over WS');
    const ok = inbox.find((m): m is SipResponse => m instanceof SipResponse && m.status === 200)!;
    assert.equal(ok.via[0]!.transport, 'WS');
    assert.match(ok.contact[0]!.uri, /;transport=ws$/);
    c.send(`ACK ${ok.contact[0]!.uri} SIP/2.0\r\nVia: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK-wsack\r\nFrom: <sip:tester@127.0.0.1>;tag=t-ws-1\r\nTo: ${ok.header('to')}\r\nCall-ID: ws-1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n`);
    await until(() => calls[0]?.state === 'confirmed', 'confirmed');
    const done = calls[0]!.hangup();
    await until(() => inbox.some((m) => m instanceof SipRequest && m.method === 'BYE'), 'BYE over WS');
    const bye = inbox.find((m): m is SipRequest => m instanceof SipRequest && m.method === 'BYE')!;
    assert.equal(bye.via[0]!.transport, 'WS');
    c.send(`SIP/2.0 200 OK\r\n${['via', 'from', 'to', 'call-id', 'cseq'].map((h) => bye.headerValues(h).map((v) => `${h}: ${v}`).join('\r\n')).join('\r\n')}\r\nContent-Length: 0\r\n\r\n`);
    await done;
    assert.equal(calls[0]!.state, 'ended');
  });

  it('a client that does not ask for the "sip" sub-protocol is closed and counted', async () => {
    const { closed } = await open('');
    assert.equal(await closed, 1002);
    assert.equal(ws.stats.refused, 1);
  });

  it('a message over the size limit closes the connection (1009) and is counted; garbage closes it too', async () => {
    const { c, closed } = await open();
    c.send(options('big', 0, 'WS', { method: 'INFO', body: 'x'.repeat(5000) }));
    assert.equal(await closed, 1009);
    await until(() => ws.stats.oversize === 1, 'oversize counted');
    const { c: d, closed: dClosed } = await open();
    d.send('hello, not SIP');
    await dClosed;
    assert.equal(ws.stats.framingErrors, 1);
  });
});

describe('sip/transport: secure WebSocket (WSS)', function () {
  this.timeout(20_000);

  it('over TLS the transport says WSS in Via and Contact', async () => {
    const pem = await certificate();
    const wss = await WsTransport.bind('127.0.0.1', 0, { tls: pem });
    const ua = new UserAgent({ transport: wss });
    const c = new WebSocket(`wss://127.0.0.1:${wss.local.port}/`, [SIP_WS_PROTOCOL], { ca: pem.cert });
    c.on('error', () => {});
    try {
      await once(c, 'open');
      const reply = once(c, 'message') as Promise<[Buffer]>;
      c.send(options('wss-1', 0, 'WSS').replace('127.0.0.1:0', 'x7.invalid'));
      const res = parseMessage(Buffer.from((await reply)[0]));
      assert.equal((res as SipResponse).status, 200);
      assert.equal(res.via[0]!.transport, 'WSS');
      assert.equal(wss.protocol, 'WSS');
      assert.equal(ua.contact, `sip:127.0.0.1:${wss.local.port};transport=wss`);
    } finally {
      c.terminate();
      await ua.close();
      await wss.close();
    }
  });
});
