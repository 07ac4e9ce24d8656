import assert from 'node:assert/strict';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { SipRequest, SipResponse, StreamFramer, TcpTransport, UdpTransport, UserAgent, newCallId, newTag, parseMessage, type IncomingCall } from '../../../../sip/index.js';
import { until } from '../../../support/wait.js';
import { options, SDP, StreamPeer } from './stream-peer.js';

const LIMITS = { maxMessageBytes: 4096, maxHeaders: 100, maxLineBytes: 1024 };

describe('sip/transport: TCP with Content-Length framing on a real socket', function () {
  this.timeout(20_000);
  let tcp: TcpTransport;
  let ua: UserAgent;
  const peers: StreamPeer[] = [];
  const calls: IncomingCall[] = [];

  const dial = async (): Promise<StreamPeer> => {
    const s = connect({ host: '127.0.0.1', port: tcp.local.port });
    await once(s, 'connect');
    const p = new StreamPeer(s);
    peers.push(p);
    return p;
  };

  beforeEach(async () => {
    tcp = await TcpTransport.bind('127.0.0.1', 0, { limits: LIMITS });
    ua = new UserAgent({ transport: tcp, timers: { T1: 100, T2: 400, T4: 500 } });
    ua.on('invite', (c) => {
      calls.push(c);
      void c.answer(SDP).catch(() => undefined);
    });
  });
  afterEach(async () => {
    for (const p of peers.splice(0)) p.end();
    calls.length = 0;
    await ua.close();
    await tcp.close();
  });

  it('a request written one byte per write is framed and answered on the same connection, Via SIP/2.0/TCP with received', async () => {
    const p = await dial();
    const bytes = Buffer.from(options('byte-by-byte', p.socket.localPort!));
    for (let i = 0; i < bytes.length; i++) await p.write(bytes.subarray(i, i + 1));
    const [res] = await p.waitFor(1);
    assert.ok(res instanceof SipResponse);
    assert.equal(res.status, 200);
    assert.equal(res.callId, 'byte-by-byte');
    assert.equal(res.via[0]!.transport, 'TCP');
    assert.equal(res.via[0]!.params.get('rport'), String(p.socket.localPort));
    assert.equal(tcp.connectionCount, 1, 'the response reused the inbound connection');
  });

  it('two requests coalesced in one write, the second with a body, both answered in order', async () => {
    const p = await dial();
    const port = p.socket.localPort!;
    await p.write(Buffer.from(options('first', port) + options('second', port, 'TCP', { method: 'INFO', body: 'x'.repeat(10) })));
    const [a, b] = await p.waitFor(2);
    assert.equal(a!.callId, 'first');
    assert.equal(b!.callId, 'second');
    assert.equal((b as SipResponse).status, 501, 'INFO outside a dialog: the body did not leak into another frame');
  });

  it('a message split mid-header and mid-body across writes, then a CRLFCRLF ping answered with a CRLF pong', async () => {
    const p = await dial();
    const msg = options('split', p.socket.localPort!, 'TCP', { method: 'INFO', body: 'abcdefghij' });
    const cut1 = msg.indexOf('Call-ID') + 3;
    const cut2 = msg.length - 4;
    await p.write(msg.slice(0, cut1));
    await p.write(msg.slice(cut1, cut2));
    await p.write(msg.slice(cut2));
    await p.waitFor(1);
    await p.write('\r\n\r\n');
    await p.waitForPong();
    assert.equal(tcp.stats.received, 1);
  });

  it('a non-numeric Content-Length breaks framing: the connection is closed and counted', async () => {
    const p = await dial();
    await p.write(options('bad-cl', p.socket.localPort!, 'TCP', { contentLength: 'ten' }));
    await p.closed;
    assert.equal(tcp.stats.framingErrors, 1);
    await until(() => tcp.connectionCount === 0, 'the server side to drop the connection');
  });

  it('a Content-Length shorter than the body: the first message is answered, the leftover bytes are not SIP and close the connection', async () => {
    const p = await dial();
    await p.write(options('short-cl', p.socket.localPort!, 'TCP', { method: 'INFO', body: 'abcdefghijHELLO THERE\r\n', contentLength: '10' }));
    await p.closed;
    assert.equal(p.messages.length, 1);
    assert.equal(p.messages[0]!.callId, 'short-cl');
    assert.equal(tcp.stats.framingErrors, 1);
  });

  it('a Content-Length over the message limit closes the connection before any body is buffered', async () => {
    const p = await dial();
    await p.write(options('huge', p.socket.localPort!, 'TCP', { contentLength: '100000' }));
    await p.closed;
    assert.equal(tcp.stats.oversize, 1);
  });

  it('headers that never end (over the limit, no CRLFCRLF) close the connection; the buffer never exceeds the limit', async () => {
    const p = await dial();
    const head = options('endless', p.socket.localPort!).split('\r\n').slice(0, 3).join('\r\n') + '\r\n';
    await p.write(head);
    const filler = Buffer.from('X-Filler: ' + 'y'.repeat(500) + '\r\n');
    for (let i = 0; i < 20 && !p.socket.destroyed; i++) await p.write(filler).catch(() => undefined);
    await p.closed;
    assert.equal(tcp.stats.oversize, 1);
    // the same rule checked on the framer itself
    const f = new StreamFramer(LIMITS);
    f.push(Buffer.from(head));
    let last;
    for (let i = 0; i < 20 && !f.broken; i++) {
      last = f.push(filler).at(-1);
      assert.ok(f.buffered <= LIMITS.maxMessageBytes);
    }
    assert.equal(last?.kind === 'error' && last.error.code, 'SIP_ERR_LIMIT');
  });

  it('garbage that is not SIP closes the connection on its first line, and the transport keeps serving others', async () => {
    const p = await dial();
    await p.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await p.closed;
    assert.equal(tcp.stats.framingErrors, 1);
    const q = await dial();
    await q.write(options('after-garbage', q.socket.localPort!));
    assert.equal((await q.waitFor(1))[0]!.callId, 'after-garbage');
  });

  it('a malformed but framed request gets 400 and the connection stays up', async () => {
    const p = await dial();
    const bad = options('bad-cseq', p.socket.localPort!).replace('CSeq: 1 OPTIONS', 'CSeq: 1 INVITE');
    await p.write(bad + options('next', p.socket.localPort!));
    const [a, b] = await p.waitFor(2);
    assert.equal((a as SipResponse).status, 400);
    assert.equal(b!.callId, 'next');
  });

  it('INVITE over TCP: Contact says transport=tcp, and our BYE goes back on the caller\'s connection', async () => {
    const p = await dial();
    const port = p.socket.localPort!;
    await p.write(options('call-1', port, 'TCP', { method: 'INVITE', body: SDP }));
    const msgs = await p.waitFor(2);
    const ok = msgs.find((m): m is SipResponse => m instanceof SipResponse && m.status === 200)!;
    assert.match(ok.contact[0]!.uri, /;transport=tcp$/);
    const ack = `ACK ${ok.contact[0]!.uri} SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:${port};branch=z9hG4bK-ack1\r\nFrom: <sip:tester@127.0.0.1>;tag=t-call-1\r\nTo: ${ok.header('to')}\r\nCall-ID: call-1\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n`;
    await p.write(ack);
    await until(() => calls[0]?.state === 'confirmed', 'confirmed');
    const hangup = calls[0]!.hangup();
    const all = await p.waitFor(msgs.length + 1);
    const bye = all[all.length - 1]!;
    assert.ok(bye instanceof SipRequest && bye.method === 'BYE');
    assert.equal(bye.via[0]!.transport, 'TCP');
    await p.write(`SIP/2.0 200 OK\r\n${['via', 'from', 'to', 'call-id', 'cseq'].map((h) => bye.headerValues(h).map((v) => `${h}: ${v}`).join('\r\n')).join('\r\n')}\r\nContent-Length: 0\r\n\r\n`);
    await hangup;
    assert.equal(calls[0]!.state, 'ended');
    assert.equal(tcp.stats.opened, 1, 'no second connection was opened');
  });

  it('a request to a TCP server we have no connection to opens one; its response completes the transaction', async () => {
    const server: Server = createServer();
    const sockets: Socket[] = [];
    server.on('connection', (s) => {
      sockets.push(s);
      const f = new StreamFramer(LIMITS);
      s.on('data', (chunk: Buffer) => {
        for (const fr of f.push(chunk)) {
          if (fr.kind !== 'message') continue;
          const req = parseMessage(fr.bytes) as SipRequest;
          const lines = ['SIP/2.0 200 OK', ...['via', 'from', 'to', 'call-id', 'cseq'].flatMap((h) => req.headerValues(h).map((v) => `${h}: ${v}`)), 'Content-Length: 0', '', ''];
          s.write(lines.join('\r\n'));
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as { port: number }).port;
      const req = new SipRequest('OPTIONS', `sip:peer@127.0.0.1:${port};transport=tcp`);
      req.setHeader('max-forwards', '70');
      req.setHeader('from', `<${ua.contact}>;tag=${newTag()}`);
      req.setHeader('to', `<sip:peer@127.0.0.1:${port}>`);
      req.setHeader('call-id', newCallId('127.0.0.1'));
      req.setHeader('cseq', '1 OPTIONS');
      const res = await ua.sendRequest(req, { address: '127.0.0.1', port, transport: 'tcp' });
      assert.equal(res.status, 200);
      assert.equal(req.via[0]!.transport, 'TCP');
      assert.equal(sockets.length, 1);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});

describe('sip/ua: one UserAgent on UDP and TCP at once', () => {
  it('answers OPTIONS over both, each with its own Via transport', async () => {
    const udp = await UdpTransport.bind('127.0.0.1', 0);
    const tcp = await TcpTransport.bind('127.0.0.1', 0);
    const ua = new UserAgent({ transport: [udp, tcp] });
    const s = connect({ host: '127.0.0.1', port: tcp.local.port });
    try {
      await once(s, 'connect');
      const p = new StreamPeer(s);
      await p.write(options('over-tcp', s.localPort!));
      assert.equal((await p.waitFor(1))[0]!.via[0]!.transport, 'TCP');
      const { createSocket } = await import('node:dgram');
      const d = createSocket('udp4');
      d.bind(0, '127.0.0.1');
      await once(d, 'listening');
      const reply = once(d, 'message') as Promise<[Buffer]>;
      d.send(options('over-udp', d.address().port, 'UDP'), udp.local.port, '127.0.0.1');
      const res = parseMessage((await reply)[0]);
      d.close();
      assert.equal(res.callId, 'over-udp');
      assert.equal(res.via[0]!.transport, 'UDP');
      assert.equal(ua.contactFor(tcp), `sip:127.0.0.1:${tcp.local.port};transport=tcp`);
      assert.equal(ua.contact, `sip:127.0.0.1:${udp.local.port}`);
    } finally {
      s.destroy();
      await ua.close();
      await udp.close();
      await tcp.close();
    }
  });
});

describe('sip/transport: a TCP connection that cannot be opened', () => {
  it('fails the request at once with SIP_ERR_TRANSPORT (§17.1.4), not at Timer F', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    probe.listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const tcp = await TcpTransport.bind('127.0.0.1', 0);
    // T1 of 10 s puts Timer F at 640 s: only the transport error can end this test in time.
    const ua = new UserAgent({ transport: tcp, timers: { T1: 10_000, T2: 40_000, T4: 50_000 } });
    try {
      const req = new SipRequest('OPTIONS', `sip:nobody@127.0.0.1:${port};transport=tcp`);
      req.setHeader('max-forwards', '70');
      req.setHeader('from', `<${ua.contact}>;tag=${newTag()}`);
      req.setHeader('to', `<sip:nobody@127.0.0.1:${port}>`);
      req.setHeader('call-id', newCallId('127.0.0.1'));
      req.setHeader('cseq', '1 OPTIONS');
      await assert.rejects(ua.sendRequest(req, { address: '127.0.0.1', port }), { code: 'SIP_ERR_TRANSPORT' });
      assert.equal(tcp.stats.sendFailures, 1);
      assert.equal(tcp.connectionCount, 0);
    } finally {
      await ua.close();
      await tcp.close();
    }
  });
});

describe('sip/transport: TCP limits and IPv6', () => {
  it('connections over maxConnections are closed at once and counted', async () => {
    const tcp = await TcpTransport.bind('127.0.0.1', 0, { maxConnections: 2 });
    const socks: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = connect({ host: '127.0.0.1', port: tcp.local.port });
        s.on('error', () => {});
        socks.push(s);
        await once(s, 'connect');
      }
      await once(socks[2]!, 'close');
      await until(() => tcp.stats.refused === 1, 'the third connection refused');
      assert.equal(tcp.connectionCount, 2);
    } finally {
      for (const s of socks) s.destroy();
      await tcp.close();
    }
  });

  it('over ::1 the Via and Contact bracket the address and the answer reuses the connection', async () => {
    const tcp = await TcpTransport.bind('::1', 0);
    const ua = new UserAgent({ transport: tcp });
    const s = connect({ host: '::1', port: tcp.local.port });
    try {
      await once(s, 'connect');
      const p = new StreamPeer(s);
      await p.write(options('v6', s.localPort!).replace(/127\.0\.0\.1:(\d+);branch/, '[::1]:$1;branch'));
      const [res] = await p.waitFor(1);
      assert.equal((res as SipResponse).status, 200);
      assert.equal(res!.via[0]!.host, '[::1]');
      assert.equal(ua.contactFor(tcp), `sip:[::1]:${tcp.local.port};transport=tcp`);
      assert.equal(tcp.stats.opened, 1);
    } finally {
      s.destroy();
      await ua.close();
      await tcp.close();
    }
  });
});
