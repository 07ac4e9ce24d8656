/**
 * The test messages of RFC 4475 (SIP Torture Test Messages), typed in from
 * the RFC's text: one line per array entry, joined with CRLF as §2 says.
 * Non-printable bytes the RFC writes as <hex>…</hex> are written here as
 * \x escapes; lines the RFC folds with <allOneLine> are joined. The binary
 * S/MIME part of mpart01 (§3.1.1.11) is replaced by bytes of the same
 * length that include CR, LF and NUL, which is what the test is about.
 */
export const rfc4475 = (lines: readonly string[], body = ''): Buffer => Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'utf8');

/** The SDP body most messages carry: 150 bytes with a 9-character address. */
export function sdp(origin: string, conn = origin, t = '0 0'): string {
  return ['v=0', `o=mhandley 29739 7272939 IN IP4 ${origin}`, 's=-', `c=IN IP4 ${conn}`, `t=${t}`, 'm=audio 49217 RTP/AVP 0 12', 'm=video 3227 RTP/AVP 31', 'a=rtpmap:31 LPC', ''].join('\r\n');
}

