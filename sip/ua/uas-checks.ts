import type { SipRequest } from '../message/index.js';

/** A final response the UA core gives before any dialog or application sees the request. */
export interface UasRefusal {
  status: number;
  headers?: Record<string, string>;
}

/** Option tags we implement: RFC 4028 session timers and RFC 3262 reliable provisional responses. */
export const SUPPORTED_OPTIONS: ReadonlySet<string> = new Set(['timer', '100rel']);
/** Request-URI schemes we serve. */
const SCHEMES = /^sips?:/i;
/** Methods whose body is a session description and whose 2xx carries one. */
const SDP_METHODS: ReadonlySet<string> = new Set(['INVITE', 'UPDATE']);
const SDP = 'application/sdp';

/**
 * RFC 3261 §8.2.2–8.2.3, what a UAS checks in order once it knows the method:
 * the Request-URI's scheme (416), the extensions the request requires (420),
 * the body it carries (415) and, for the methods whose answer carries SDP,
 * whether the sender accepts SDP at all (406, §21.4.7). ACK and CANCEL are
 * exempt from Require (§8.2.2.3) and carry no offer.
 */
export function inspectRequest(req: SipRequest): UasRefusal | undefined {
  if (req.method === 'ACK' || req.method === 'CANCEL') return undefined;
  // §8.2.2.1: "If the Request-URI uses a scheme not supported by the UAS, it SHOULD reject the request with 416".
  if (!SCHEMES.test(req.uri)) return { status: 416 };
  // §8.2.2.3: a Require naming an option we do not understand gets 420 listing them in Unsupported.
  const unsupported = optionTags(req.headerValues('require')).filter((t) => !SUPPORTED_OPTIONS.has(t.toLowerCase()));
  if (unsupported.length) return { status: 420, headers: { unsupported: unsupported.join(', ') } };
  if (!SDP_METHODS.has(req.method)) return undefined;
  // §8.2.3: a body of a type (or encoding) we cannot read gets 415 saying what we accept.
  if (req.body.length > 0) {
    const type = (req.contentType ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== SDP) return { status: 415, headers: { accept: SDP } };
    const encoding = req.headerValues('content-encoding').flatMap((v) => v.split(',')).map((e) => e.trim().toLowerCase()).filter((e) => e && e !== 'identity');
    if (encoding.length) return { status: 415, headers: { accept: SDP, 'accept-encoding': 'identity' } };
  }
  // §20.1: an absent Accept means application/sdp; a present one must admit it, since our answer is SDP.
  const accept = req.headerValues('accept');
  if (accept.length > 0 && !acceptsSdp(accept)) return { status: 406, headers: { accept: SDP } };
  return undefined;
}

function optionTags(lines: readonly string[]): string[] {
  return lines.flatMap((l) => l.split(',')).map((t) => t.trim()).filter((t) => t !== '');
}

/**
 * Does an Accept header (all its lines) admit application/sdp? The most
 * specific matching range decides (RFC 2616 §14.1, which §20.1 keeps), and a
 * range with q=0 refuses. An empty Accept admits nothing (§20.1).
 */
export function acceptsSdp(lines: readonly string[]): boolean {
  let best: { rank: number; q: number } | undefined;
  for (const range of lines.flatMap((l) => l.split(','))) {
    const [media = '', ...params] = range.split(';').map((s) => s.trim().toLowerCase());
    if (media === '') continue;
    const rank = media === SDP ? 3 : media === 'application/*' ? 2 : media === '*/*' ? 1 : 0;
    if (rank === 0) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!best || rank > best.rank) best = { rank, q: Number.isFinite(q) ? q : 0 };
  }
  return best !== undefined && best.q > 0;
}
