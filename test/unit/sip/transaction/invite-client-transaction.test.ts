import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { InviteClientTransaction, newBranch, parseMessage, SipRequest, SipResponse, UdpTransport, type Peer, type SipMessage } from '../../../../sip/index.js';
import { until } from '../../../support/wait.js';

const T = { T1: 40, T2: 320, T4: 400 };

/** A UAS on a real UDP socket that records what reaches it and answers when told to. */
class RawUas {
  readonly got: SipRequest[] = [];
  constructor(readonly sock: Socket) {
    sock.on('message', (m) => this.got.push(parseMessage(m) as SipRequest));
  }
  static async open(): Promise<RawUas> {
    const sock = createSocket('udp4');
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    return new RawUas(sock);
  }
  get peer(): Peer {
    return { address: '127.0.0.1', port: this.sock.address().port };
  }
  invites(): SipRequest[] {
    return this.got.filter((r) => r.method === 'INVITE');
  }
  acks(): SipRequest[] {
    return this.got.filter((r) => r.method === 'ACK');
  }
  respond(req: SipRequest, status: number, to: Peer, toTag = 'uas-tag'): void {
    const res = new SipResponse(status, String(status));
    res.setHeader('via', ...req.via.map(String));
    res.setHeader('from', String(req.from));
    res.setHeader('to', status > 100 ? `${String(req.to)};tag=${toTag}` : String(req.to));
    res.setHeader('call-id', req.callId);
    res.setHeader('cseq', `${req.cseq.seq} ${req.cseq.method}`);
    this.sock.send(res.toBuffer(), to.port, to.address);
  }
}

function invite(transport: UdpTransport, target: Peer): SipRequest {
  const req = new SipRequest('INVITE', `sip:uas@${target.address}:${target.port}`);
  req.setHeader('via', `SIP/2.0/UDP ${transport.local.address}:${transport.local.port};branch=${newBranch()};rport`);
  req.setHeader('max-forwards', '70');
  req.setHeader('from', '<sip:uac@127.0.0.1>;tag=uac-tag');
  req.setHeader('to', '<sip:uas@127.0.0.1>');
  req.setHeader('call-id', `ict-${Math.random()}`);
  req.setHeader('cseq', '7 INVITE');
  req.setHeader('route', '<sip:proxy.invalid;lr>');
  return req;
}

describe('sip/transaction: INVITE client transaction over a real UDP socket', function () {
  this.timeout(20_000);
  let transport: UdpTransport;
  let uas: RawUas;
  let tx: InviteClientTransaction | undefined;
  let terminated: number;

  const start = (): InviteClientTransaction => {
    tx = new InviteClientTransaction(invite(transport, uas.peer), transport, uas.peer, T, () => terminated++);
    return tx;
  };

  beforeEach(async () => {
    terminated = 0;
    transport = await UdpTransport.bind('127.0.0.1', 0);
    transport.setUser({ receive: (m: SipMessage) => { if (m instanceof SipResponse) tx?.receive(m); } });
    uas = await RawUas.open();
  });
  afterEach(async () => {
    tx?.dispose();
    tx = undefined;
    uas.sock.close();
    await transport.close();
  });

  it('Timer A retransmits an unanswered INVITE, Timer B ends it with SIP_ERR_TIMEOUT', async () => {
    const t = start();
    await assert.rejects(t.response, { code: 'SIP_ERR_TIMEOUT' });
    // 64·T1 with intervals T1, 2T1, 4T1…: the original plus six retransmissions fit before Timer B.
    assert.ok(uas.invites().length >= 5, `sent ${uas.invites().length}`);
    assert.ok(uas.invites().every((r) => r.via[0]!.branch === t.request.via[0]!.branch), 'retransmissions keep the branch');
    assert.equal(t.state, 'terminated');
    assert.equal(terminated, 1);
  });

  it('a provisional response stops the retransmissions (Proceeding)', async () => {
    const t = start();
    await until(() => uas.invites().length >= 1, 'the INVITE');
    let atProvisional = -1;
    t.onProvisional = () => { atProvisional = uas.invites().length; };
    uas.respond(uas.invites()[0]!, 180, transport.local);
    await until(() => atProvisional >= 0, 'the 180 reaches the transaction');
    assert.equal(t.state, 'proceeding');
    // Wait long enough for three more Timer A firings had it still been running.
    await new Promise((r) => setTimeout(r, 16 * T.T1));
    assert.ok(uas.invites().length <= atProvisional + 1, `INVITEs ${uas.invites().length} after ${atProvisional} at the 180 (one may have been in flight)`);
  });

  it('stopRetransmitting: no INVITE is sent again, yet Timer B still ends the transaction', async () => {
    const t = start();
    t.stopRetransmitting();
    await assert.rejects(t.response, { code: 'SIP_ERR_TIMEOUT' });
    // Timer A would have sent the original and six retransmissions within 64·T1.
    assert.equal(uas.invites().length, 1, 'only the original INVITE');
    assert.equal(t.state, 'terminated');
    assert.equal(terminated, 1);
  });

  it('stopRetransmitting: a late provisional and a late 2xx still reach the TU (it cancels or ends what it gave up)', async () => {
    const t = start();
    t.stopRetransmitting();
    await until(() => uas.invites().length >= 1, 'the INVITE');
    let provisional = 0;
    t.onProvisional = () => provisional++;
    uas.respond(uas.invites()[0]!, 180, transport.local);
    await until(() => provisional === 1, 'the late 180 reaches the TU');
    uas.respond(uas.invites()[0]!, 200, transport.local);
    assert.equal((await t.response).status, 200);
    assert.equal(t.state, 'accepted');
  });

  it('a 486 is ACKed by the transaction (same branch, the response\'s To tag, the INVITE\'s Route), and again for each retransmitted 486', async () => {
    const t = start();
    await until(() => uas.invites().length >= 1, 'the INVITE');
    const inv = uas.invites()[0]!;
    uas.respond(inv, 486, transport.local);
    const res = await t.response;
    assert.equal(res.status, 486);
    await until(() => uas.acks().length === 1, 'the ACK');
    const ack = uas.acks()[0]!;
    assert.equal(ack.via[0]!.branch, inv.via[0]!.branch);
    assert.equal(ack.via.length, 1);
    assert.equal(ack.to.tag, 'uas-tag');
    assert.equal(ack.cseq.seq, 7);
    assert.equal(ack.cseq.method, 'ACK');
    assert.equal(ack.uri, inv.uri);
    assert.equal(ack.route[0]!.uri, 'sip:proxy.invalid;lr');
    assert.equal(t.state, 'completed');
    uas.respond(inv, 486, transport.local);
    uas.respond(inv, 486, transport.local);
    await until(() => uas.acks().length === 3, 'an ACK per retransmitted 486');
  });

  it('a 2xx is not ACKed by the transaction; it enters Accepted and passes 2xx retransmissions to the TU', async () => {
    const t = start();
    let retransmitted = 0;
    t.on2xxRetransmission = () => retransmitted++;
    await until(() => uas.invites().length >= 1, 'the INVITE');
    const inv = uas.invites()[0]!;
    uas.respond(inv, 200, transport.local);
    assert.equal((await t.response).status, 200);
    assert.equal(t.state, 'accepted');
    uas.respond(inv, 200, transport.local);
    await until(() => retransmitted === 1, 'the retransmitted 200 reaches the TU');
    assert.equal(uas.acks().length, 0);
  });

  it('over a reliable transport the INVITE is sent once and Timer D is zero', async () => {
    const sent: SipMessage[] = [];
    const reliable = { reliable: true, send: (m: SipRequest) => void sent.push(m) };
    let ended = 0;
    const t = new InviteClientTransaction(invite(transport, uas.peer), reliable, uas.peer, T, () => ended++);
    await assert.rejects(t.response, { code: 'SIP_ERR_TIMEOUT' });
    assert.equal(sent.length, 1, 'no Timer A on a reliable transport');
    const u = new InviteClientTransaction(invite(transport, uas.peer), reliable, uas.peer, T, () => ended++);
    const r = new SipResponse(603, 'Decline');
    for (const h of ['via', 'from', 'to', 'call-id', 'cseq']) r.setHeader(h, ...u.request.headerValues(h));
    u.receive(r);
    assert.equal(u.state, 'terminated', 'Completed lasts Timer D = 0 on a reliable transport');
    assert.equal((sent[sent.length - 1] as SipRequest).method, 'ACK');
    assert.equal(ended, 2);
  });
});
