import { randomFillSync } from 'node:crypto';
import type { SipLimitError, SipParseError } from '../errors.js';
import { salvageRequest } from './parser.js';
import { SipResponse, type SipRequest } from './sip-message.js';

export const REASONS: Record<number, string> = {
  100: 'Trying', 180: 'Ringing', 183: 'Session Progress', 200: 'OK', 202: 'Accepted',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  407: 'Proxy Authentication Required', 408: 'Request Timeout', 415: 'Unsupported Media Type', 420: 'Bad Extension',
  422: 'Session Interval Too Small', 480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected', 483: 'Too Many Hops', 486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here',
  491: 'Request Pending', 500: 'Server Internal Error', 501: 'Not Implemented', 503: 'Service Unavailable', 504: 'Server Time-out',
  505: 'Version Not Supported',
  603: 'Decline',
};

const POOL = Buffer.allocUnsafeSlow(4096);
let poolAt = POOL.length;

/**
 * `n` bytes from the CSPRNG, drawn from a 4 KB block refilled when spent:
 * one randomFillSync per ~300 ids instead of a crypto call for every branch,
 * tag and Call-ID (three per REGISTER refresh).
 */
export function randomChunk(n: number): Buffer {
  if (poolAt + n > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const out = POOL.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

/** RFC 3261 §8.1.1.7: branch ids start with the magic cookie and are unique in space and time. */
export function newBranch(): string {
  return `z9hG4bK${randomChunk(12).toString('base64url')}`;
}

/** §19.3: a tag with at least 32 bits of randomness. */
export function newTag(): string {
  return randomChunk(8).toString('hex');
}

export function newCallId(host: string): string {
  return `${randomChunk(12).toString('hex')}@${host}`;
}

/**
 * A response to `req` per RFC 3261 §8.2.6.2: Via (all of them, in order),
 * From, Call-ID and CSeq copied; To copied with our tag added when the
 * response is not a 100 and the request had none.
 */
export function createResponse(req: SipRequest, status: number, options: { reason?: string; toTag?: string; headers?: Record<string, string | string[]>; body?: string | Buffer; contentType?: string } = {}): SipResponse {
  // A reason may quote the peer (a parse error): a CR or LF in it would start a header of the peer's choosing.
  const reason = options.reason === undefined ? REASONS[status] ?? 'Unknown' : options.reason.replace(/[\x00-\x1f\x7f]/g, ' ');
  const res = new SipResponse(status, reason);
  res.setHeader('via', ...req.via.map(String));
  res.setHeader('from', String(req.from));
  const to = String(req.to);
  res.setHeader('to', status > 100 && !req.to.tag && options.toTag ? `${to};tag=${options.toTag}` : to);
  res.setHeader('call-id', req.callId);
  res.setHeader('cseq', `${req.cseq.seq} ${req.cseq.method}`);
  for (const [k, v] of Object.entries(options.headers ?? {})) res.setHeader(k, ...(Array.isArray(v) ? v : [v]));
  if (options.body !== undefined) res.setBody(options.body, options.contentType);
  return res;
}

/**
 * The answer to a message that failed to parse, when one can be built: 400
 * (505 for another SIP version) to a request whose Via, From, To, Call-ID
 * and CSeq are valid, never to an ACK. `stamp` marks the salvaged request's
 * top Via with where it came from (RFC 3581) before its Vias are copied.
 */
export function responseToMalformed(bytes: Buffer, err: SipParseError | SipLimitError, stamp?: (req: SipRequest) => void): SipResponse | undefined {
  const req = salvageRequest(bytes);
  return req && answerMalformed(req, err, stamp);
}

/** The same answer, for a request already salvaged: undefined for an ACK, which is never answered. */
export function answerMalformed(req: SipRequest, err: SipParseError | SipLimitError, stamp?: (req: SipRequest) => void): SipResponse | undefined {
  if (req.method === 'ACK') return undefined;
  stamp?.(req);
  const status = 'status' in err ? err.status : 400;
  const why = err.message.replace(/^malformed SIP message: /, '').slice(0, 80);
  return createResponse(req, status, { reason: `${REASONS[status]} (${why})` });
}
