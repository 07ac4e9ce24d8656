import assert from 'node:assert/strict';
import { parseMessage, PrackSender, ReliableProvisional, parseRAck, takes100rel, parseInfoDtmf, createResponse, SipRequest, SipResponse } from '../../../../sip/index.js';
import { until } from '../../../support/wait.js';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'));

function invite(extra: string[] = []): SipRequest {
  return parseMessage(crlf([
    'INVITE sip:agent@127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-inv1', 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.1>;tag=from1', 'To: <sip:agent@127.0.0.1>', 'Call-ID: prack-1', 'CSeq: 7 INVITE',
    'Contact: <sip:caller@127.0.0.1:5070>', ...extra, 'Content-Length: 0', '', '',
  ])) as SipRequest;
}

function provisional(status: number, toTag: string, headers: string[]): SipResponse {
  return parseMessage(crlf([
    `SIP/2.0 ${status} Ringing`, 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-inv1', 'From: <sip:caller@127.0.0.1>;tag=from1',
    `To: <sip:agent@127.0.0.1>;tag=${toTag}`, 'Call-ID: prack-1', 'CSeq: 7 INVITE', 'Contact: <sip:agent@10.0.0.9:5080;transport=tcp>',
    'Record-Route: <sip:p1.example;lr>', 'Record-Route: <sip:p2.example;lr>', ...headers, 'Content-Length: 0', '', '',
  ])) as SipResponse;
}

function prack(rack: string, cseq = 8): SipRequest {
  return parseMessage(crlf([
    'PRACK sip:agent@127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-pr', 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.1>;tag=from1', 'To: <sip:agent@127.0.0.1>;tag=us', 'Call-ID: prack-1', `CSeq: ${cseq} PRACK`,
    `RAck: ${rack}`, 'Content-Length: 0', '', '',
  ])) as SipRequest;
}

describe('sip/ua: RFC 3262 reliable provisional responses', function () {
  this.timeout(10_000);

  it('100rel in Supported or Require, in any case, lets us send reliably; RAck parses', () => {
    assert.ok(takes100rel(invite(['Supported: timer, 100rel'])));
    assert.ok(takes100rel(invite(['Require: 100REL'])));
    assert.ok(!takes100rel(invite(['Supported: timer'])));
    assert.deepEqual(parseRAck('776656 1 INVITE'), { rseq: 776656, cseq: 1, method: 'INVITE' });
    assert.equal(parseRAck('776656 INVITE'), undefined);
    assert.equal(parseRAck(undefined), undefined);
  });

  describe('UAS: ReliableProvisional', () => {
    it('adds Require and RSeq, retransmits from T1 doubling until the matching PRACK, and answers others 481', async () => {
      const inv = invite(['Supported: 100rel']);
      const sent: Array<{ at: number; res: SipResponse }> = [];
      const t0 = Date.now();
      const rel = new ReliableProvisional({ invite: inv, t1: 20, send: (res) => sent.push({ at: Date.now() - t0, res }), timedOut: () => assert.fail('no timeout expected') });
      const ringing = createResponse(inv, 180, { toTag: 'us' });
      rel.send(ringing);
      assert.equal(ringing.header('require'), '100rel');
      const rseq = Number(ringing.header('rseq'));
      assert.ok(rseq >= 1 && rseq < 2 ** 31);
      assert.ok(rel.pending);
      await until(() => sent.length >= 4, 'three retransmissions');
      // T1, 2·T1, 4·T1 apart: the gaps grow.
      assert.ok(sent[3]!.at - sent[2]!.at > sent[1]!.at - sent[0]!.at, JSON.stringify(sent.map((s) => s.at)));
      const settled = rel.settled();
      assert.equal(rel.prack(prack(`${rseq + 1} 7 INVITE`)), false, 'wrong RSeq');
      assert.equal(rel.prack(prack(`${rseq} 6 INVITE`)), false, 'wrong CSeq');
      assert.equal(rel.prack(prack('garbage')), false, 'unparsable RAck');
      assert.equal(rel.prack(prack(`${rseq} 7 INVITE`)), true);
      assert.equal(await settled, true);
      assert.ok(!rel.pending);
      const n = sent.length;
      assert.equal(rel.prack(prack(`${rseq} 7 INVITE`)), false, 'already acknowledged');
      // A second reliable response takes the next RSeq.
      const progress = createResponse(inv, 183, { toTag: 'us' });
      rel.send(progress);
      assert.equal(Number(progress.header('rseq')), rseq + 1);
      rel.stop();
      // A twin not stopped, started now with the same T1: once it has retransmitted twice (T1 + 2·T1),
      // the stopped one would have retransmitted too.
      const twinSent: SipResponse[] = [];
      const twin = new ReliableProvisional({ invite: inv, t1: 20, send: (res) => twinSent.push(res), timedOut: () => undefined });
      twin.send(createResponse(inv, 180, { toTag: 'twin' }));
      await until(() => twinSent.length >= 3, 'the twin retransmitted twice');
      twin.stop();
      assert.equal(sent.length, n + 1, 'stop() ends the retransmissions');
    });

    it('a second reliable response waits for the PRACK of the first', () => {
      const inv = invite(['Require: 100rel']);
      const sent: SipResponse[] = [];
      const rel = new ReliableProvisional({ invite: inv, t1: 1000, send: (res) => sent.push(res), timedOut: () => undefined });
      rel.send(createResponse(inv, 180, { toTag: 'us' }));
      rel.send(createResponse(inv, 183, { toTag: 'us' }));
      assert.deepEqual(sent.map((r) => r.status), [180]);
      assert.ok(rel.prack(prack(`${sent[0]!.header('rseq')} 7 INVITE`)));
      assert.deepEqual(sent.map((r) => r.status), [180, 183]);
      assert.equal(Number(sent[1]!.header('rseq')), Number(sent[0]!.header('rseq')) + 1);
      rel.stop();
    });

    it('gives up after 64·T1 without a PRACK: settled() is false and the owner is told', async () => {
      const inv = invite(['Supported: 100rel']);
      let timedOut = 0;
      let sent = 0;
      const rel = new ReliableProvisional({ invite: inv, t1: 5, send: () => sent++, timedOut: () => timedOut++ });
      rel.send(createResponse(inv, 180, { toTag: 'us' }));
      assert.equal(await rel.settled(), false);
      assert.equal(timedOut, 1);
      assert.ok(rel.timedOut);
      // 5, 10, 20, 40, 80, 160 ms: six intervals reach 64·T1 (315 ≥ 320 is the seventh): the first send and five retransmissions.
      assert.ok(sent >= 5 && sent <= 7, `sent ${sent}`);
    });
  });

  describe('UAC: PrackSender', () => {
    it('PRACKs a reliable 18x once, in its early dialog, and ignores retransmissions, gaps and unreliable ones', () => {
      const inv = invite(['Supported: 100rel']);
      let cseq = 7;
      const sent: SipRequest[] = [];
      const sender = new PrackSender({ invite: inv, nextCSeq: () => ++cseq, send: (p) => sent.push(p) });
      const first = sender.receive(provisional(180, 'a', ['Require: 100rel', 'RSeq: 41']));
      assert.equal(first.kind, 'prack');
      assert.equal(sent.length, 1);
      const p = sent[0]!;
      assert.equal(p.method, 'PRACK');
      assert.equal(p.uri, 'sip:agent@10.0.0.9:5080;transport=tcp', 'Request-URI: the 18x Contact');
      assert.equal(p.header('rack'), '41 7 INVITE');
      assert.equal(p.cseq.seq, 8);
      assert.equal(p.cseq.method, 'PRACK');
      assert.equal(p.to.tag, 'a');
      assert.equal(p.from.tag, 'from1');
      assert.equal(p.callId, 'prack-1');
      assert.deepEqual(p.headerValues('route'), ['<sip:p2.example;lr>', '<sip:p1.example;lr>'], 'route set: Record-Route reversed');
      assert.deepEqual(sender.receive(provisional(180, 'a', ['Require: 100rel', 'RSeq: 41'])), { kind: 'duplicate', rseq: 41 });
      assert.deepEqual(sender.receive(provisional(183, 'a', ['Require: 100rel', 'RSeq: 43'])), { kind: 'out-of-order', rseq: 43, expected: 42 });
      assert.equal(sender.receive(provisional(183, 'a', ['Require: 100rel', 'RSeq: 42'])).kind, 'prack');
      // A forked early dialog has a sequence of its own.
      assert.equal(sender.receive(provisional(180, 'b', ['Require: 100rel', 'RSeq: 900'])).kind, 'prack');
      assert.deepEqual(sender.receive(provisional(180, 'c', ['RSeq: 5'])), { kind: 'unreliable' });
      assert.deepEqual(sender.receive(provisional(180, 'c', ['Require: 100rel'])), { kind: 'unreliable' });
      assert.deepEqual(sender.receive(provisional(180, 'c', ['Require: 100rel', 'RSeq: x'])), { kind: 'unreliable' });
      assert.equal(sent.length, 3);
      assert.deepEqual(sent.map((s) => s.cseq.seq), [8, 9, 10]);
    });
  });

  describe('INFO DTMF bodies', () => {
    const info = (type: string, body: string) => parseMessage(crlf([
      'INFO sip:agent@127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-i', 'Max-Forwards: 70',
      'From: <sip:caller@127.0.0.1>;tag=from1', 'To: <sip:agent@127.0.0.1>;tag=us', 'Call-ID: prack-1', 'CSeq: 9 INFO',
      `Content-Type: ${type}`, `Content-Length: ${Buffer.byteLength(body)}`, '', body,
    ])) as SipRequest;
    it('reads dtmf-relay and dtmf, maps 10/11 to * and #, refuses anything else', () => {
      assert.deepEqual(parseInfoDtmf(info('application/dtmf-relay', 'Signal=5\r\nDuration=160\r\n')), { digit: '5', durationMs: 160 });
      assert.deepEqual(parseInfoDtmf(info('application/dtmf-relay', 'Signal= #\r\n')), { digit: '#', durationMs: 100 });
      assert.deepEqual(parseInfoDtmf(info('application/dtmf-relay', 'Signal=11\r\nDuration=99999999\r\n')), { digit: '#', durationMs: 100 });
      assert.deepEqual(parseInfoDtmf(info('application/dtmf', '7')), { digit: '7', durationMs: 100 });
      assert.deepEqual(parseInfoDtmf(info('application/dtmf', 'b\r\n')), { digit: 'B', durationMs: 100 });
      assert.equal(parseInfoDtmf(info('application/dtmf-relay', 'Signal=55\r\n')), undefined);
      assert.equal(parseInfoDtmf(info('application/dtmf', 'x')), undefined);
      assert.equal(parseInfoDtmf(info('text/plain', '5')), undefined);
    });
  });
});
