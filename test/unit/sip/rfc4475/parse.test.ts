import assert from 'node:assert/strict';
import { SipLimitError, SipParseError, type SipRejectReason } from '../../../../sip/errors.js';
import { parseMessage, responseToMalformed, SipRequest, SipResponse, StreamFramer } from '../../../../sip/index.js';
import * as bad from './invalid.js';
import * as sem from './semantics.js';
import * as ok from './valid.js';

const req = (b: Buffer) => {
  const m = parseMessage(b);
  assert.ok(m instanceof SipRequest);
  return m;
};

/** The parse error for `b`, and what a UAS sends back for it (status, or 'dropped'). */
function refused(b: Buffer): { kind: SipRejectReason | 'limit'; answer: number | 'dropped'; res: SipResponse | undefined } {
  try {
    parseMessage(b);
  } catch (err) {
    assert.ok(err instanceof SipParseError || err instanceof SipLimitError, String(err));
    const res = responseToMalformed(b, err);
    return { kind: err.kind, answer: res?.status ?? 'dropped', res };
  }
  assert.fail('the message parsed');
}

/** Every byte we would write back: no control character but the CRLFs that end lines. */
function assertClean(bytes: Buffer): void {
  const head = bytes.subarray(0, bytes.indexOf('\r\n\r\n') + 4).toString('latin1');
  assert.doesNotMatch(head.replace(/\r\n/g, ''), /[\x00-\x08\x0a-\x1f\x7f]/, JSON.stringify(head));
}

describe('sip/rfc4475 §3.1.1: valid messages parse', () => {
  it('wsinv: the short tortuous INVITE (LWS everywhere, folding, escapes, compact forms)', () => {
    const m = req(ok.wsinv);
    assert.equal(m.uri, 'sip:vivekg@chair-dnrc.example.com;unknownparam');
    assert.equal(m.to.uri, 'sip:vivekg@chair-dnrc.example.com');
    assert.equal(m.to.tag, '1918181833n');
    assert.equal(m.from.displayName, 'J Rosenberg \\\\\\"');
    assert.equal(m.from.tag, '98asjd8');
    assert.equal(m.maxForwards, 68);
    assert.deepEqual(m.cseq, { seq: 9, method: 'INVITE' });
    assert.deepEqual(m.via.map((v) => [v.transport, v.host, v.branch]), [['UDP', '192.0.2.2', '390skdjuw'], ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'], ['UDP', '192.168.255.111', 'z9hG4bK30239']]);
    assert.equal(m.route.length, 1);
    assert.equal(m.contact[0]!.displayName, 'Quoted string \\"\\"');
    assert.equal(m.contact[0]!.params.get('newparam'), 'newvalue');
    assert.equal(m.contact[0]!.params.get('q'), '0.33');
    assert.equal(m.header('subject'), '');
    assert.equal(m.header('newfangledheader'), 'newfangled value continued newfangled value');
    assert.equal(m.header('UnknownHeaderWithUnusualValue'), ';;,,;;,;');
    assert.equal(m.body.length, 150);
  });

  it('intmeth: a method of token characters, quoted-pair controls, UTF-8 — parsed, and answered without a control byte', () => {
    const m = req(ok.intmeth);
    assert.equal(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
    assert.equal(m.cseq.method, m.method, 'methods are case-sensitive and compared as such');
    assert.equal(m.to.uri, "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com");
    assert.equal(m.from.params.get('tag'), "_token~1'+`*%!-.");
    assert.equal(m.from.params.get("fromparam''~+*_!.-%"), '"\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439"');
    assert.equal(m.callId, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    assert.equal(m.header("extensionHeader-!.%*+_`'~"), '\ufeff\u5927\u505c\u96fb');
    const out = m.toBuffer();
    assertClean(out);
    assert.ok(out.includes(Buffer.from('\u0440\u0430\u0431\u043e\u0442\u0430', 'utf8')), 'UTF-8 goes back out as UTF-8, not re-encoded Latin-1');
  });

  it('esc01, escnull, esc02: escapes in URIs, %00, and % in a method and a header name', () => {
    assert.equal(req(ok.esc01).uri, 'sip:sips%3Auser%40example.com@example.net');
    assert.equal(req(ok.esc01).contact[0]!.uri, 'sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31');
    assert.equal(req(ok.escnull).contact.length, 2);
    const e2 = req(ok.esc02);
    assert.equal(e2.method, 'RE%47IST%45R');
    assert.equal(e2.contact.length, 2, 'C%6Fntact is another header, not Contact');
    assert.equal(e2.header('c%6fntact'), '<sip:alias2@host2.example.com>');
  });

  it('lwsdisp, longreq, semiuri, transports', () => {
    assert.equal(req(ok.lwsdisp).from.displayName, 'caller');
    const l = req(ok.longreq);
    assert.equal(l.via.length, 34);
    assert.equal(l.from.tag, `12${'982'.repeat(50)}424`);
    assert.equal(l.to.displayName, `I have a user name of ${'extreme'.repeat(10)} proportion`);
    assert.equal(l.body.length, 150);
    assert.equal(req(ok.semiuri).uri, 'sip:user;par=u%40example.net@example.com');
    assert.deepEqual(req(ok.transports).via.map((v) => v.transport), ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
  });

  it('dblreq: over UDP the bytes after Content-Length are not a second message', () => {
    const m = req(ok.dblreq);
    assert.equal(m.method, 'REGISTER');
    assert.equal(m.body.length, 0);
  });

  it('mpart01: a binary body (CR, LF, NUL) is carried byte for byte', () => {
    const m = req(ok.mpart01);
    assert.equal(m.body.length, 553);
    assert.ok(m.body.includes(ok.MPART01_BINARY));
  });

  it('unreason and noreason: a UTF-8 reason phrase, and an empty one', () => {
    const u = parseMessage(ok.unreason);
    assert.ok(u instanceof SipResponse);
    assert.match(u.reason, /^= 2\*\*3 \* 5\*\*2 \u043d\u043e/);
    const n = parseMessage(ok.noreason);
    assert.ok(n instanceof SipResponse);
    assert.equal(n.status, 100);
    assert.equal(n.reason, '');
  });
});

describe('sip/rfc4475 §3.1.2: invalid messages are refused (400, 505) or dropped, never parsed', () => {
  const cases: Array<[string, Buffer, SipRejectReason | 'limit', number | 'dropped']> = [
    // §3.1.2.1: the top Via is still readable once the empty parameters are skipped, so the 400 can be routed.
    ['badinv01 (extraneous ; and , in Via and Contact)', bad.badinv01, 'bad-header', 400],
    ['clerr (Content-Length larger than the datagram)', bad.clerr, 'content-length', 400],
    ['ncl (negative Content-Length)', bad.ncl, 'content-length', 400],
    // The CSeq a 400 must copy is itself the error: nothing valid to answer with.
    ['scalar02 (overlarge CSeq and Max-Forwards)', bad.scalar02, 'cseq', 'dropped'],
    ['scalarlg (a response with an overlarge CSeq)', bad.scalarlg, 'cseq', 'dropped'],
    // A 400 would have to echo the malformed To: we drop rather than write invalid SIP back.
    ['quotbal (unterminated quoted display name)', bad.quotbal, 'quoted-string', 'dropped'],
    ['ltgtruri (<> around the Request-URI)', bad.ltgtruri, 'request-uri', 400],
    ['lwsruri (LWS inside the Request-URI)', bad.lwsruri, 'start-line', 400],
    ['lwsstart (several SP between Request-Line elements)', bad.lwsstart, 'start-line', 400],
    ['trws (SP at the end of the Request-Line)', bad.trws, 'start-line', 400],
    ['escruri (escaped headers in a SIP Request-URI)', bad.escruri, 'request-uri', 400],
    ['regbadct (an addr-spec with ? outside <>)', bad.regbadct, 'bad-header', 400],
    ['badaspec (spaces inside <>)', bad.badaspec, 'bad-header', 'dropped'],
    ['baddn (a comma in an unquoted display name)', bad.baddn, 'bad-header', 'dropped'],
    ['badvers (SIP/7.0)', bad.badvers, 'version', 505],
    ['mismatch01 (CSeq method differs from the method)', bad.mismatch01, 'cseq', 400],
    ['mismatch02 (unknown method, CSeq INVITE)', bad.mismatch02, 'cseq', 400],
    ['bigcode (a status code over 699)', bad.bigcode, 'start-line', 'dropped'],
  ];
  for (const [name, bytes, kind, answer] of cases) {
    it(name, () => {
      const r = refused(bytes);
      assert.equal(r.kind, kind);
      assert.equal(r.answer, answer);
      if (r.res) assertClean(r.res.toBuffer());
    });
  }
});

describe('sip/rfc4475 §3.2–§3.4 and RFC 3261 single-value rules at the parser', () => {
  it('multi01: two CSeq, Call-ID, To, From, Max-Forwards → 400 built from the first copies', () => {
    const r = refused(sem.multi01);
    assert.equal(r.kind, 'duplicate-header');
    assert.equal(r.answer, 400);
    assert.equal(r.res!.callId, 'multi01.98asdh@192.0.2.1');
  });

  it('mcl01: two Content-Length → 400 over UDP, and a framing error (the connection must go) over a stream', () => {
    const r = refused(sem.mcl01);
    assert.equal(r.kind, 'duplicate-header');
    assert.equal(r.answer, 400);
    const frames = new StreamFramer({ maxMessageBytes: 65_535, maxLineBytes: 8192 }).push(sem.mcl01);
    assert.equal(frames.length, 1);
    assert.equal(frames[0]!.kind, 'error');
  });

  it('insuf: To, From, Call-ID and Max-Forwards missing → nothing to build an answer from, dropped', () => {
    const r = refused(sem.insuf);
    assert.equal(r.kind, 'missing-header');
    assert.equal(r.answer, 'dropped');
  });

  it('parse, and leave the answer to the UA: unknown schemes anywhere, Require, unknown bodies, Max-Forwards 0, Contact forms, RFC 2543', () => {
    assert.equal(req(sem.unkscm).uri, 'nobodyKnowsThisScheme:totallyopaquecontent');
    assert.equal(req(sem.novelsc).uri, 'soap.beep://192.0.2.103:3002');
    const u = req(sem.unksm2);
    assert.equal(u.to.uri, 'isbn:2983792873');
    assert.equal(u.from.uri, 'http://www.example.com');
    assert.equal(u.contact[0]!.uri, 'name:John_Smith');
    assert.deepEqual(req(sem.bext01).headerValues('require'), ['nothingSupportsThis', 'nothingSupportsThisEither']);
    assert.equal(req(sem.invut).contentType, 'application/unknownformat');
    assert.equal(req(sem.zeromf).maxForwards, 0);
    assert.ok(req(sem.cparam01).contact[0]!.params.has('unknownparam'), 'outside <> the parameter belongs to the header');
    assert.equal(req(sem.cparam02).contact[0]!.params.size, 0, 'inside <> it belongs to the URI');
    assert.equal(req(sem.regescrt).contact[0]!.uri, 'sip:user@example.com?Route=%3Csip:sip.example.com%3E');
    assert.equal(req(sem.sdp01).header('accept'), 'text/nobodyKnowsThis');
    assert.equal(req(sem.badbranch).via[0]!.branch, 'z9hG4bK');
    const old = req(sem.inv2543);
    assert.equal(old.via[0]!.branch, undefined);
    assert.equal(old.maxForwards, undefined);
    assert.equal(old.to.params.get('user'), 'phone');
    const b = parseMessage(sem.bcast);
    assert.ok(b instanceof SipResponse && b.via[1]!.host === '255.255.255.255');
  });
});
