// The parsers under fuzz, each with its oracle: the only exceptions allowed are the package's own
// typed errors (SipError, MediaError); and whatever we parse and then write back must parse again
// (a 400's reason phrase or an echoed header that breaks the framing is header injection).
import { parseMessage, salvageRequest, createResponse, SipRequest, type SipMessage } from '../sip/message/index.js';
import { SipError, SipParseError, SipLimitError } from '../sip/errors.js';
import { StreamFramer } from '../sip/transport/stream-framer.js';
import { MediaError, RtpPacket, RtcpCompound, TelephoneEvent, parseSdp, buildSdp, SdpNegotiator } from '../media/index.js';
import type { FuzzTarget } from './fuzz-engine.js';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');

const SDP = [
  'v=0', 'o=- 4711 1 IN IP4 192.0.2.10', 's=-', 'c=IN IP4 192.0.2.10', 't=0 0',
  'm=audio 40000 RTP/AVP 0 8 101', 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16', 'a=ptime:20', 'a=sendrecv', '',
].join('\r\n');

const INVITE = crlf([
  'INVITE sip:+15551230000@192.0.2.1:5060;transport=udp SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport',
  'Via: SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKnashds8;received=192.0.2.3',
  'Max-Forwards: 70',
  'From: "Alice \\"A\\"" <sip:+15550001111@carrier.example>;tag=1928301774',
  'To: <sip:+15551230000@192.0.2.1>',
  'Call-ID: a84b4c76e66710@pc33.example',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@192.0.2.10:5060>;expires=60, <sips:a@[2001:db8::1]>',
  'Record-Route: <sip:lb.example;lr>',
  'Supported: timer, 100rel',
  'Session-Expires: 1800;refresher=uac',
  'Content-Type: application/sdp',
  `Content-Length: ${Buffer.byteLength(SDP)}`,
  '', SDP,
]);
const COMPACT = crlf([
  'BYE sip:x@192.0.2.1 SIP/2.0', 'v: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKbye', 'f: <sip:a@b>;tag=1', 't: <sip:c@d>;tag=2',
  'i: bye-1', 'CSeq: 2 BYE', 'l: 0', '', '',
]);
const RESPONSE = crlf([
  'SIP/2.0 401 Unauthorized', 'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKreg', 'From: <sip:u@d>;tag=a', 'To: <sip:u@d>;tag=b',
  'Call-ID: reg-1', 'CSeq: 1 REGISTER', 'WWW-Authenticate: Digest realm="d", nonce="abc", qop="auth", algorithm=SHA-256', 'Content-Length: 0', '', '',
]);

const SIP_DICT = ['\r\n', '\r\n\r\n', ':', ';', ',', '<', '>', '"', '\\', ' ', '\t', '\r', '\n', '\x00', '=', '@', '[::1]', '%00', 'sip:', 'sips:', 'tel:',
  'SIP/2.0', 'SIP/3.0', 'Via: ', 'Content-Length: ', 'CSeq: ', 'Call-ID: ', 'From: ', 'To: ', 'Max-Forwards: ', 'Contact: ', 'Route: ', 'Require: ',
  'Expires: ', 'l: ', 'v: ', 'i: ', 'm: ', 'f: ', 't: ', 'branch=z9hG4bK', 'tag=', 'received=', 'rport', ';lr', 'INVITE', 'ACK', 'BYE', 'CANCEL',
  'OPTIONS', 'REGISTER', 'Content-Type: ', 'application/sdp', '*', '\u00ff'];

export const SDP_DICT = ['\r\n', '\n', '=', ' ', 'v=0', 'o=', 's=', 'c=IN IP4 ', 'c=IN IP6 ', 't=0 0', 'm=audio ', 'm=video ', 'a=rtpmap:', 'a=fmtp:',
  'RTP/AVP', 'RTP/SAVP', 'UDP/TLS/RTP/SAVPF', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:', '/8000', '/8000/2', 'a=ptime:', 'a=sendonly', 'a=inactive',
  'a=rtcp:', 'a=rtcp-mux', 'b=AS:', 'PCMU', 'PCMA', 'telephone-event', '0', '65535', '65536', '-1', '/'];

/** SIP: the datagram path (parse, or salvage and answer 400) and the stream framer, with the write-back oracle. */
function runSip(input: Buffer): void {
  let msg: SipMessage | undefined;
  try {
    msg = parseMessage(input);
  } catch (err) {
    // What sip/transport/udp-transport.ts does: anything but these two escapes its message handler.
    if (!(err instanceof SipParseError || err instanceof SipLimitError)) throw err;
    const req = salvageRequest(input);
    if (req && req.method !== 'ACK') reparse(createResponse(req, 400, { reason: `Bad Request (${err.message.replace(/^malformed SIP message: /, '').slice(0, 80)})` }).toBuffer(), 'our 400 to a salvaged request');
  }
  if (msg instanceof SipRequest) {
    void msg.via; void msg.from; void msg.to; void msg.callId; void msg.cseq; void msg.contact; void msg.body;
    for (const h of ['route', 'record-route', 'require', 'supported', 'session-expires', 'expires', 'content-type']) msg.headerValues(h);
    reparse(createResponse(msg, 200, { toTag: 'fuzz' }).toBuffer(), 'our 200');
    reparse(msg.toBuffer(), 'the request written back');
  }
  // The same bytes over TCP in two chunks: the framer must never throw anything but a SipError.
  const framer = new StreamFramer({ maxMessageBytes: 65_535, maxLineBytes: 8_192 });
  try {
    const cut = input.length >> 1;
    for (const f of [...framer.push(input.subarray(0, cut)), ...framer.push(input.subarray(cut))]) {
      if (f.kind !== 'message') continue;
      try { parseMessage(f.bytes); } catch (err) { if (!(err instanceof SipError)) throw err; }
    }
  } catch (err) {
    if (!(err instanceof SipError)) throw err;
  }
}

function reparse(bytes: Buffer, what: string): void {
  try {
    parseMessage(bytes);
  } catch (err) {
    throw new Error(`${what} does not parse: ${(err as Error).message}`, { cause: err });
  }
}

function runSdp(input: Buffer): void {
  let d;
  try { d = parseSdp(input.toString('utf8')); } catch (err) { if (!(err instanceof MediaError)) throw err; return; }
  const again = buildSdp(d);
  try { parseSdp(again); } catch (err) { throw new Error(`our SDP built from a parsed one does not parse: ${(err as Error).message}`, { cause: err }); }
  try {
    const { sdp } = new SdpNegotiator({ address: '127.0.0.1', port: 20000 }).answer(d);
    parseSdp(sdp);
  } catch (err) { if (!(err instanceof MediaError)) throw err; }
}

function runRtp(input: Buffer): void {
  try {
    const p = RtpPacket.deSerialize(input);
    RtpPacket.deSerialize(p.serialize());
    if (p.payload.length >= 4) TelephoneEvent.deSerialize(p.payload);
  } catch (err) { if (!(err instanceof MediaError)) throw err; }
  try { RtcpCompound.deSerialize(input); } catch (err) { if (!(err instanceof MediaError)) throw err; }
}

const rtp = Buffer.from('80000001000000a0deadbeef' + 'ff'.repeat(160), 'hex');
const rtpExt = Buffer.from('b0e50002000001400000beef' + 'bede0001' + '10aabbcc' + '0102030405' + '000003', 'hex');
const dtmf = Buffer.from('80650003000003200000beef' + '058a0320', 'hex');
const srRr = Buffer.from('81c8000c0000beef' + '00'.repeat(20) + '0000cafe' + '00'.repeat(20) + '81ca00030000beef010474657374' + '0000', 'hex');

export const targets: readonly FuzzTarget[] = [
  { name: 'sip', files: ['/sip/message/', '/sip/transport/stream-framer'], seeds: [INVITE, COMPACT, RESPONSE], dictionary: SIP_DICT, maxLength: 8192, run: runSip },
  { name: 'sdp', files: ['/media/sdp/'], seeds: [Buffer.from(SDP)], dictionary: SDP_DICT, maxLength: 4096, run: runSdp },
  { name: 'rtp-rtcp', files: ['/media/rtp/rtp-packet', '/media/rtp/rtcp', '/media/rtp/telephone-event'], seeds: [rtp, rtpExt, dtmf, srRr], dictionary: ['\x80', '\x90', '\xa0', '\xbe\xde', '\x00\x00', '\xff\xff', '\x81\xc8', '\x81\xc9', '\x81\xca', '\x81\xcb'], maxLength: 1500, run: runRtp },
];

export const runners = { sip: runSip, sdp: runSdp, 'rtp-rtcp': runRtp } as const;
