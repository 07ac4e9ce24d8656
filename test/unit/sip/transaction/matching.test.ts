import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { invitedKey, parseMessage, serverKey, SipRequest, SipResponse, UdpTransport, UserAgent } from '../../../../sip/index.js';
import { until } from '../../../support/wait.js';

/** A request over UDP as a peer at `port` writes it; `branch` undefined writes an RFC 2543 Via (none). */
function request(o: { method: string; port: number; callId: string; branch?: string; cseq?: number; cseqMethod?: string; toTag?: string; viaHost?: string }): string {
  const branch = o.branch === undefined ? '' : `;branch=${o.branch}`;
  return `${o.method} sip:warmline@127.0.0.1 SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP ${o.viaHost ?? '127.0.0.1'}:${o.port}${branch}\r\n` +
    'Max-Forwards: 70\r\n' +
    'From: <sip:peer@127.0.0.1>;tag=from-1\r\n' +
    `To: <sip:warmline@127.0.0.1>${o.toTag ? `;tag=${o.toTag}` : ''}\r\n` +
    `Call-ID: ${o.callId}\r\n` +
    `CSeq: ${o.cseq ?? 1} ${o.cseqMethod ?? o.method}\r\n` +
    'Content-Length: 0\r\n\r\n';
}

const req = (text: string) => parseMessage(Buffer.from(text)) as SipRequest;

describe('sip/transaction: matching per RFC 3261 §17.2.3 (keys)', () => {
  it('with the magic cookie: branch + sent-by + method; ACK goes to its INVITE, CANCEL has its own and finds the INVITE', () => {
    const invite = req(request({ method: 'INVITE', port: 5070, callId: 'k1', branch: 'z9hG4bKaa' }));
    assert.equal(serverKey(req(request({ method: 'INVITE', port: 5070, callId: 'k1', branch: 'z9hG4bKaa' }))), serverKey(invite), 'a retransmission');
    assert.notEqual(serverKey(req(request({ method: 'INVITE', port: 5071, callId: 'k1', branch: 'z9hG4bKaa' }))), serverKey(invite), 'another sent-by');
    assert.notEqual(serverKey(req(request({ method: 'INVITE', port: 5070, callId: 'k1', branch: 'z9hG4bKaa', viaHost: '127.0.0.2' }))), serverKey(invite), 'another sent-by host');
    assert.equal(serverKey(req(request({ method: 'ACK', port: 5070, callId: 'k1', branch: 'z9hG4bKaa', toTag: 'ours' }))), serverKey(invite));
    const cancel = req(request({ method: 'CANCEL', port: 5070, callId: 'k1', branch: 'z9hG4bKaa' }));
    assert.notEqual(serverKey(cancel), serverKey(invite));
    assert.equal(invitedKey(cancel), serverKey(invite));
  });

  it('without it (RFC 2543): Request-URI, tags, Call-ID, CSeq and top Via; the ACK (with our To tag) matches its INVITE', () => {
    const invite = req(request({ method: 'INVITE', port: 5070, callId: 'old-1' }));
    assert.equal(serverKey(req(request({ method: 'ACK', port: 5070, callId: 'old-1', toTag: 'ours' }))), serverKey(invite));
    assert.equal(invitedKey(req(request({ method: 'CANCEL', port: 5070, callId: 'old-1' }))), serverKey(invite));
    assert.notEqual(serverKey(req(request({ method: 'INVITE', port: 5070, callId: 'old-2' }))), serverKey(invite), 'another Call-ID');
    assert.notEqual(serverKey(req(request({ method: 'INVITE', port: 5070, callId: 'old-1', cseq: 2 }))), serverKey(invite), 'another CSeq');
    const bye = req(request({ method: 'BYE', port: 5070, callId: 'old-1', toTag: 'ours', cseq: 2 }));
    assert.notEqual(serverKey(bye), serverKey(req(request({ method: 'BYE', port: 5070, callId: 'old-1', toTag: 'other', cseq: 2 }))), 'another To tag');
    // RFC 4475 §3.2.1: a branch that is only the cookie identifies nothing.
    assert.notEqual(serverKey(req(request({ method: 'OPTIONS', port: 5070, callId: 'c1', branch: 'z9hG4bK' }))), serverKey(req(request({ method: 'OPTIONS', port: 5070, callId: 'c2', branch: 'z9hG4bK' }))));
  });
});

describe('sip/transaction: matching on the wire (UDP, real sockets)', function () {
  this.timeout(20_000);
  let udp: UdpTransport;
  let ua: UserAgent;
  const sockets: Socket[] = [];

  /** A peer socket and everything it receives, parsed. */
  async function peer(): Promise<{ socket: Socket; port: number; got: SipResponse[]; send: (text: string) => void }> {
    const socket = createSocket('udp4');
    sockets.push(socket);
    const got: SipResponse[] = [];
    socket.on('message', (b) => got.push(parseMessage(b) as SipResponse));
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    return { socket, port: socket.address().port, got, send: (text) => socket.send(text, udp.local.port, '127.0.0.1') };
  }

  beforeEach(async () => {
    udp = await UdpTransport.bind('127.0.0.1', 0);
    // T1 long enough that no Timer G retransmission happens while a test runs.
    ua = new UserAgent({ transport: udp, timers: { T1: 2000, T2: 4000, T4: 5000 } });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.close();
    await ua.close();
    await udp.close();
  });

  it('a request from another sender that reuses a branch is a new transaction, answered to that sender', async () => {
    const a = await peer();
    const b = await peer();
    a.send(request({ method: 'OPTIONS', port: a.port, callId: 'from-a', branch: 'z9hG4bKshared' }));
    await until(() => a.got.length === 1, 'the answer to A');
    b.send(request({ method: 'OPTIONS', port: b.port, callId: 'from-b', branch: 'z9hG4bKshared' }));
    await until(() => b.got.length === 1, 'the answer to B');
    assert.equal(b.got[0]!.callId, 'from-b');
    assert.equal(b.got[0]!.status, 200);
    assert.equal(a.got.length, 1, 'A got no copy of anything');
  });

  it('two requests without a branch within 32 s do not collide; a retransmission of one is absorbed', async () => {
    const p = await peer();
    p.send(request({ method: 'OPTIONS', port: p.port, callId: 'nobranch-1' }));
    await until(() => p.got.length === 1, 'the first answer');
    p.send(request({ method: 'OPTIONS', port: p.port, callId: 'nobranch-2' }));
    await until(() => p.got.length === 2, 'the second answer');
    assert.deepEqual(p.got.map((r) => r.callId), ['nobranch-1', 'nobranch-2']);
    p.send(request({ method: 'OPTIONS', port: p.port, callId: 'nobranch-1' }));
    await until(() => p.got.length === 3, 'the retransmitted answer');
    assert.equal(p.got[2]!.to.tag, p.got[0]!.to.tag, 'the same response again, not a new transaction');
  });

  it('an RFC 2543 ACK (no branch) matches its INVITE: the transaction is confirmed and absorbs the INVITE silently', async () => {
    const p = await peer();
    // No 'invite' listener: the UA refuses the call with 480, a non-2xx the caller must ACK.
    p.send(request({ method: 'INVITE', port: p.port, callId: 'old-style' }));
    await until(() => p.got.some((r) => r.status === 480), 'the 480');
    const tag = p.got.find((r) => r.status === 480)!.to.tag!;
    p.send(request({ method: 'ACK', port: p.port, callId: 'old-style', cseqMethod: 'ACK', toTag: tag }));
    const after = p.got.length;
    // Were the ACK not matched, this retransmitted INVITE would get the 480 again (or a new 100 and call).
    p.send(request({ method: 'INVITE', port: p.port, callId: 'old-style' }));
    p.send(request({ method: 'OPTIONS', port: p.port, callId: 'probe', branch: 'z9hG4bKprobe' }));
    await until(() => p.got.some((r) => r.callId === 'probe'), 'the probe answer');
    assert.deepEqual(p.got.slice(after).map((r) => `${r.status} ${r.callId}`), ['200 probe']);
  });
});
