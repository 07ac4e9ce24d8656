import assert from 'node:assert/strict';
import { parseMessage, salvageRequest, createResponse, SipRequest, SipResponse, newBranch } from '../../../sip/message/index.js';
import { SipLimitError, SipParseError } from '../../../sip/errors.js';

const crlf = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'));

const INVITE = crlf(`INVITE sip:+15551230000@10.0.0.1:5060 SIP/2.0
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKproxy1
Max-Forwards: 70
To: <sip:+15551230000@example.com>
From: "Carrier" <sip:+15559990000@carrier.example>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.carrier.example
CSeq: 314159 INVITE
Contact: <sip:+15559990000@192.0.2.10:5060>
Record-Route: <sip:192.0.2.1;lr>, <sip:192.0.2.2;lr>
Content-Type: application/sdp
Content-Length: 5

v=0
`);

describe('sip: message parser', () => {
  it('parses a carrier INVITE: Vias in order, tags, CSeq, Record-Route split, body by Content-Length', () => {
    const m = parseMessage(INVITE) as SipRequest;
    assert.ok(m instanceof SipRequest);
    assert.equal(m.method, 'INVITE');
    assert.equal(m.uri, 'sip:+15551230000@10.0.0.1:5060');
    assert.equal(m.via.length, 2);
    assert.equal(m.via[0]!.branch, 'z9hG4bK776asdhds');
    assert.equal(m.via[0]!.port, 5060);
    assert.ok(m.via[0]!.params.has('rport'));
    assert.equal(m.from.tag, '1928301774');
    assert.equal(m.from.displayName, 'Carrier');
    assert.equal(m.to.tag, undefined);
    assert.deepEqual(m.cseq, { seq: 314159, method: 'INVITE' });
    assert.equal(m.recordRoute.length, 2);
    assert.equal(m.contact[0]!.uri, 'sip:+15559990000@192.0.2.10:5060');
    assert.equal(m.maxForwards, 70);
    assert.equal(m.body.toString(), 'v=0\r\n');
  });

  it('accepts compact forms, folded lines, odd spacing, lower-case names, bare LF and IPv6', () => {
    const raw = Buffer.from([
      'OPTIONS sip:gw@[2001:db8::1]:5060 SIP/2.0',
      'v:SIP/2.0/TCP [2001:db8::9]:5070 ;branch=z9hG4bKv6',
      'f:   <sip:probe@[2001:db8::9]>;tag=x1',
      't: <sip:gw@[2001:db8::1]>',
      'i: opt-1',
      'cseq:   7   OPTIONS',
      'subject: a folded',
      '   header value',
      'l: 0',
      '', ''].join('\n'));
    const m = parseMessage(raw) as SipRequest;
    assert.equal(m.via[0]!.host, '[2001:db8::9]');
    assert.equal(m.via[0]!.transport, 'TCP');
    assert.equal(m.callId, 'opt-1');
    assert.equal(m.header('Subject'), 'a folded header value');
    assert.equal(m.body.length, 0);
  });

  it('parses responses and round-trips a message byte for byte in meaning', () => {
    const res = parseMessage(crlf(`SIP/2.0 180 Ringing
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKabc
From: <sip:a@x>;tag=1
To: <sip:b@y>;tag=2
Call-ID: c1
CSeq: 1 INVITE
Content-Length: 0

`));
    assert.ok(res instanceof SipResponse);
    assert.equal(res.status, 180);
    const again = parseMessage(res.toBuffer()) as SipResponse;
    assert.equal(again.reason, 'Ringing');
    assert.equal(again.to.tag, '2');
    const inv = parseMessage(parseMessage(INVITE).toBuffer()) as SipRequest;
    assert.equal(inv.recordRoute.length, 2);
    assert.equal(inv.body.toString(), 'v=0\r\n');
  });

  it('builds a response per §8.2.6: Vias copied, To tag added, Content-Length right', () => {
    const req = parseMessage(INVITE) as SipRequest;
    const res = createResponse(req, 200, { toTag: 'ourtag', body: 'v=0\r\n', contentType: 'application/sdp' });
    const back = parseMessage(res.toBuffer()) as SipResponse;
    assert.equal(back.via.length, 2);
    assert.equal(back.to.tag, 'ourtag');
    assert.equal(back.header('content-length'), '5');
    assert.equal(createResponse(req, 100).to.tag, undefined, 'no tag on 100 Trying');
  });

  it('branch ids carry the magic cookie and are unique', () => {
    const seen = new Set(Array.from({ length: 1000 }, newBranch));
    assert.equal(seen.size, 1000);
    for (const b of seen) assert.match(b, /^z9hG4bK[\w-]{16}$/);
  });

  describe('hostile input: a typed error, never anything else', () => {
    const cases: Array<[string, Buffer, RegExp]> = [
      ['truncated (no end of headers)', INVITE.subarray(0, 120), /no end of headers/],
      ['wrong Content-Length (more than arrived)', Buffer.from(INVITE.toString().replace('Content-Length: 5', 'Content-Length: 400')), /Content-Length 400 but 5/],
      ['non-numeric Content-Length', Buffer.from(INVITE.toString().replace('Content-Length: 5', 'Content-Length: four')), /bad Content-Length/],
      ['missing Call-ID', Buffer.from(INVITE.toString().replace(/Call-ID:.*\r\n/, '')), /missing call-id/],
      ['bad CSeq', Buffer.from(INVITE.toString().replace('CSeq: 314159 INVITE', 'CSeq: x INVITE')), /bad CSeq/],
      ['CSeq method mismatch', Buffer.from(INVITE.toString().replace('CSeq: 314159 INVITE', 'CSeq: 1 BYE')), /does not match/],
      ['binary garbage', Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) % 256)), /./],
      ['bad request line', crlf('HELLO\n\n'), /bad request line/],
      ['bad Via', Buffer.from(INVITE.toString().replace('SIP/2.0/UDP 192.0.2.10:5060;', 'SIP/9/UDP ;')), /bad Via/],
    ];
    for (const [name, buf, re] of cases) {
      it(name, () => {
        assert.throws(() => parseMessage(buf), (e: Error) => (e instanceof SipParseError || e instanceof SipLimitError) && re.test(e.message));
      });
    }

    it('limits: size, header count and line length', () => {
      assert.throws(() => parseMessage(Buffer.alloc(70_000, 0x41)), (e: Error) => e instanceof SipLimitError && e.code === 'SIP_ERR_LIMIT');
      const bomb = Buffer.from(INVITE.toString().replace('Max-Forwards: 70\r\n', 'X-A: 1\r\n'.repeat(150)));
      assert.throws(() => parseMessage(bomb), /header count is 1\d\d, over the limit of 100/);
      const longLine = Buffer.from(INVITE.toString().replace('Max-Forwards: 70', `X-Long: ${'a'.repeat(9000)}`));
      assert.throws(() => parseMessage(longLine), /line length/);
    });

    it('says when a 400 can still be sent, and salvages what a 400 needs', () => {
      const bad = Buffer.from(INVITE.toString().replace('Content-Length: 5', 'Content-Length: 400'));
      try {
        parseMessage(bad);
        assert.fail('should throw');
      } catch (e) {
        assert.ok(e instanceof SipParseError && e.respondable);
      }
      const salvaged = salvageRequest(bad);
      assert.equal(salvaged?.callId, 'a84b4c76e66710@pc33.carrier.example');
      assert.equal(createResponse(salvaged!, 400).via.length, 2);
      assert.equal(salvageRequest(Buffer.from([0xff, 0x00, 0x13])), undefined);
    });

    it('a thousand random mutations of a valid INVITE never throw anything but typed errors', () => {
      let seed = 42;
      const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
      for (let i = 0; i < 1000; i++) {
        const b = Buffer.from(INVITE);
        for (let j = 0; j < 5; j++) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
        try {
          parseMessage(b);
        } catch (e) {
          assert.ok(e instanceof SipParseError || e instanceof SipLimitError, `mutation ${i}: ${(e as Error).stack}`);
        }
      }
    });
  });
});
