import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { SipResponse, TcpTransport, UserAgent } from '../../../../sip/index.js';
import { options, StreamPeer } from '../transport/stream-peer.js';
import * as bad from './invalid.js';
import * as sem from './semantics.js';
import * as ok from './valid.js';

/**
 * The RFC 4475 messages sent to a real UserAgent over a real TCP connection:
 * what the peer gets back (or does not), byte for byte.
 */
describe('sip/rfc4475: what a UAS answers on the wire', function () {
  this.timeout(20_000);
  let tcp: TcpTransport;
  let ua: UserAgent;
  let peer: StreamPeer;

  beforeEach(async () => {
    tcp = await TcpTransport.bind('127.0.0.1', 0);
    ua = new UserAgent({ transport: tcp, timers: { T1: 100, T2: 400, T4: 500 } });
    const s = connect({ host: '127.0.0.1', port: tcp.local.port });
    await once(s, 'connect');
    peer = new StreamPeer(s);
  });
  afterEach(async () => {
    peer.end();
    await ua.close();
    await tcp.close();
  });

  /** Sends `bytes`, then an OPTIONS that must be answered: the answer to `bytes` (if any) comes before it. */
  async function exchange(bytes: Buffer): Promise<{ res: SipResponse | undefined; raw: Buffer | undefined }> {
    const before = peer.messages.length;
    await peer.write(bytes);
    await peer.write(options(`probe-${before}`, peer.socket.localPort!));
    let got = peer.messages.length;
    for (;;) {
      const list = await peer.waitFor(got + 1);
      got = list.length;
      if (list[got - 1]!.callId === `probe-${before}`) break;
    }
    const answers = peer.messages.slice(before, got - 1);
    assert.ok(answers.length <= 1, 'at most one answer');
    const res = answers[0];
    assert.ok(res === undefined || res instanceof SipResponse);
    return { res, raw: peer.frames[before] && res ? peer.frames[before] : undefined };
  }

  const clean = (raw: Buffer) => {
    const head = raw.subarray(0, raw.indexOf('\r\n\r\n')).toString('latin1');
    assert.doesNotMatch(head.replace(/\r\n/g, ''), /[\x00-\x08\x0a-\x1f\x7f]/, JSON.stringify(head));
  };

  it('methods made of any token characters reach the UA and get 501, with no control byte echoed from the To', async () => {
    const a = await exchange(ok.intmeth);
    assert.equal(a.res?.status, 501);
    assert.equal(a.res?.cseq.method, "!interesting-Method0123456789_*+`.%indeed'~");
    clean(a.raw!);
    assert.equal((await exchange(ok.esc02)).res?.status, 501);
  });

  it('To and From with non-SIP schemes parse and are answered (REGISTER is not ours: 501)', async () => {
    const a = await exchange(sem.unksm2);
    assert.equal(a.res?.status, 501);
    assert.equal(a.res?.to.uri, 'isbn:2983792873');
  });

  it('malformed requests whose identity is readable get 400 (505 for SIP/7.0), with a printable reason', async () => {
    for (const [bytes, status] of [[bad.lwsstart, 400], [bad.ltgtruri, 400], [bad.trws, 400], [bad.mismatch01, 400], [sem.multi01, 400], [bad.badvers, 505]] as const) {
      const a = await exchange(bytes);
      assert.equal(a.res?.status, status, bytes.toString('latin1', 0, 40));
      clean(a.raw!);
    }
  });

  it('Max-Forwards: seventy → 400; a From with an unterminated quote → no answer at all (no 200 echoing it)', async () => {
    const mf = Buffer.from(options('mf-words', peer.socket.localPort!).replace('Max-Forwards: 70', 'Max-Forwards: seventy'));
    const a = await exchange(mf);
    assert.equal(a.res?.status, 400);
    assert.match(a.res!.reason, /Max-Forwards/);
    const q = Buffer.from(options('open-quote', peer.socket.localPort!).replace('From: <sip:tester', 'From: "Unterminated <sip:tester'));
    assert.equal((await exchange(q)).res, undefined);
  });

  it('a bare CR in a header is refused, and the 400 carries no CR of the peer’s (no header injection)', async () => {
    const injected = Buffer.from(options('bare-cr', peer.socket.localPort!).replace('Max-Forwards: 70\r\n', 'Subject: hello\rX-Injected: yes\r\nMax-Forwards: 70\r\n'));
    const a = await exchange(injected);
    assert.equal(a.res?.status, 400);
    assert.equal(a.res?.header('x-injected'), undefined);
    clean(a.raw!);
    const cseqInjection = Buffer.from(options('bare-cr-2', peer.socket.localPort!).replace('CSeq: 1 OPTIONS', 'CSeq: 1 OPT\rIONS'));
    const b = await exchange(cseqInjection);
    assert.equal(b.res, undefined, 'the CSeq a 400 would copy is the broken header: dropped');
  });

  it('duplicate Content-Length on a stream breaks framing: the connection is closed', async () => {
    await peer.write(sem.mcl01);
    await peer.closed;
    assert.equal(tcp.stats.framingErrors, 1);
  });
});
