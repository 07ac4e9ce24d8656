import assert from 'node:assert/strict';
import { parseMessage, type SipRequest } from '../../../sip/index.js';
import { callContext, contextMessage, CONTEXT_LIMITS } from '../../../src/calls/call-context.js';
import { negotiatedFromAnswer } from '../../../src/calls/answer-in-ack.js';

function invite(extra: string[]): SipRequest {
  return parseMessage(Buffer.from([
    'INVITE sip:agent@127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-c', 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.1>;tag=f', 'To: <sip:agent@127.0.0.1>', 'Call-ID: ctx-1', 'CSeq: 1 INVITE',
    ...extra, 'Content-Length: 0', '', '',
  ].join('\r\n'))) as SipRequest;
}

describe('calls: call context from the INVITE', () => {
  it('keeps X- headers (not our own X-Warmline-*), Diversion, and PAI only from a trusted source', () => {
    const inv = invite([
      'X-Customer-Id: C-42', 'x-campaign: spring\tsale', 'X-Warmline-Source: 10.0.0.1',
      'Diversion: <sip:+15550001111@pbx.example>;reason=no-answer;counter=1',
      'P-Asserted-Identity: "Alice" <sip:+15551230001@carrier.example>',
    ]);
    const trusted = callContext(inv, true);
    assert.deepEqual(trusted.headers, { 'X-Customer-Id': 'C-42', 'X-Campaign': 'spring sale' });
    assert.deepEqual(trusted.diversion, ['<sip:+15550001111@pbx.example>;reason=no-answer;counter=1']);
    assert.deepEqual(trusted.assertedIdentity, ['"Alice" <sip:+15551230001@carrier.example>']);
    assert.equal(trusted.assertedIdentityIgnored, false);
    const untrusted = callContext(inv, false);
    assert.deepEqual(untrusted.assertedIdentity, []);
    assert.equal(untrusted.assertedIdentityIgnored, true);
    const msg = contextMessage(trusted)!;
    assert.match(msg, /not instructions/);
    const json = JSON.parse(msg.slice(msg.indexOf('{'))) as Record<string, unknown>;
    assert.deepEqual(json.sipHeaders, trusted.headers);
    assert.doesNotMatch(contextMessage(untrusted)!, /Alice/);
    assert.equal(contextMessage(callContext(invite([]), true)), undefined, 'nothing to say: no paragraph');
  });

  it('bounds the context: values capped and stripped of control characters, at most 16 X- headers', () => {
    const many = Array.from({ length: 40 }, (_, i) => `X-H${i}: v${i}`);
    const inv = invite([`X-Long: ${'a'.repeat(5000)}`, 'X-Ctl: placeholder', ...many]);
    // The parser already refuses C0 controls in headers; the context does not count on it.
    inv.setHeader('x-ctl', 'one\u0007two\u0085three\u2028four');
    const c = callContext(inv, true);
    assert.equal(Object.keys(c.headers).length, CONTEXT_LIMITS.headers);
    assert.equal(c.headers['X-Long']!.length, CONTEXT_LIMITS.value);
    assert.equal(c.headers['X-Ctl'], 'one two three four');
    assert.ok(contextMessage(c)!.length < 5000, `${contextMessage(c)!.length} characters`);
  });
});

describe('calls: the answer in the ACK to our delayed offer', () => {
  const sdp = (m: string, extra: string[] = []) => ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', m, ...extra, ''].join('\r\n');

  it('takes the answerer\'s first codec of ours and its telephone-event, and mirrors its direction', () => {
    const n = negotiatedFromAnswer('c', sdp('m=audio 40000 RTP/AVP 8 101', ['a=rtpmap:101 telephone-event/8000', 'a=recvonly']), ['PCMU', 'PCMA']);
    assert.equal(n.codec.encoding, 'PCMA');
    assert.equal(n.telephoneEvent?.payloadType, 101);
    assert.equal(n.remotePort, 40000);
    assert.equal(n.direction, 'sendonly');
  });

  it('refuses a missing, unparsable, refused or foreign answer with WL_ERR_SDP_ANSWER', () => {
    for (const bad of [undefined, 'hello', sdp('m=audio 0 RTP/AVP 0'), sdp('m=audio 40000 RTP/AVP 18'), sdp('m=audio 40000 RTP/SAVP 0'), sdp('m=audio 40000 RTP/AVP 8')]) {
      assert.throws(() => negotiatedFromAnswer('c', bad, ['PCMU']), (e: { code?: string }) => e.code === 'WL_ERR_SDP_ANSWER', String(bad));
    }
  });
});
