import type { SipRequest } from '../message/index.js';

/** A digit carried by SIP INFO. */
export interface InfoDtmf {
  /** 0-9, *, #, A-D. */
  digit: string;
  durationMs: number;
}

const DIGIT = /^[0-9*#A-D]$/;
/** Some gateways write the RFC 4733 event numbers for * and # (10, 11) rather than the characters. */
const EVENT_DIGITS: Record<string, string> = { 10: '*', 11: '#' };

/**
 * The digit of an INFO (RFC 6086) carrying DTMF: `application/dtmf-relay`
 * (`Signal=5\r\nDuration=160`, Cisco's de facto format) or `application/dtmf`
 * (the digit alone). Undefined for any other body: the caller answers 415.
 */
export function parseInfoDtmf(req: SipRequest): InfoDtmf | undefined {
  const body = req.body.toString('utf8');
  const type = (req.contentType ?? '').split(';')[0]!.trim().toLowerCase();
  let raw: string | undefined;
  let durationMs = 100;
  if (type === 'application/dtmf-relay' || (type === 'application/dtmf' && /signal\s*=/i.test(body))) {
    raw = /^\s*Signal\s*=\s*(\S+)\s*$/im.exec(body)?.[1];
    const d = Number(/^\s*Duration\s*=\s*(\d{1,6})\s*$/im.exec(body)?.[1]);
    if (Number.isFinite(d) && d > 0) durationMs = Math.min(d, 10_000);
  } else if (type === 'application/dtmf') {
    raw = /^\s*(\S+)\s*$/.exec(body)?.[1];
  }
  if (raw === undefined) return undefined;
  const digit = EVENT_DIGITS[raw] ?? raw.toUpperCase();
  return DIGIT.test(digit) ? { digit, durationMs } : undefined;
}
