import type { SipMessage, SipRequest, Via } from '../message/index.js';

/** RFC 3261 §8.1.1.7: a branch starting with this was made unique by an RFC 3261 element. */
export const MAGIC_COOKIE = 'z9hG4bK';

/**
 * §17.2.3: the key of the server transaction a request belongs to. Two
 * requests share a key exactly when the RFC says they match.
 *
 * - Branch with the magic cookie: branch, the top Via's sent-by and the
 *   method, an ACK counting as its INVITE. A request from another sender
 *   that reuses a branch is another transaction.
 * - Otherwise (an RFC 2543 peer): Request-URI, To tag, From tag, Call-ID,
 *   CSeq and the whole top Via. For INVITE and its ACK the To tag is left
 *   out and only the CSeq number is kept: the ACK carries the tag of our
 *   response, which the INVITE could not have, and says ACK where the
 *   INVITE said INVITE.
 *
 * A CANCEL has its own transaction (its method is part of the key); the
 * INVITE it cancels is found with `invitedKey`.
 */
export function serverKey(req: SipRequest): string {
  return keyAs(req, req.method === 'ACK' ? 'INVITE' : req.method);
}

/** §9.2 (and §17.2.3 for RFC 2543 peers): the key of the INVITE server transaction a CANCEL or an ACK refers to. */
export function invitedKey(req: SipRequest): string {
  return keyAs(req, 'INVITE');
}

/**
 * §17.1.3: the key of the client transaction a response belongs to: the
 * branch of its top Via and the CSeq method (a CANCEL's responses and its
 * INVITE's share a branch). The same function keys a request we send,
 * once its top Via carries our (always fresh) branch.
 */
export function clientKey(msg: SipMessage): string {
  return `${msg.via[0]?.branch ?? ''}|${msg.cseq.method}`;
}

function keyAs(req: SipRequest, method: string): string {
  const top = req.via[0];
  const branch = top?.branch;
  if (top && branch && branch.startsWith(MAGIC_COOKIE) && branch.length > MAGIC_COOKIE.length) {
    return `${branch}|${sentBy(top)}|${method}`;
  }
  // RFC 4475 §3.2.1: a branch that is only the cookie identifies nothing; the RFC 2543 rules apply.
  const invite = method === 'INVITE';
  const toTag = invite ? '' : req.to.tag ?? '';
  const cseq = invite ? `${req.cseq.seq}` : `${req.cseq.seq} ${req.cseq.method}`;
  return `2543|${req.uri}|${toTag}|${req.from.tag ?? ''}|${req.callId}|${cseq}|${top ? viaIdentity(top) : ''}|${method}`;
}

/** sent-by as §17.2.3 compares it: host (case-insensitive) and port as written. */
function sentBy(via: Via): string {
  return `${via.host.toLowerCase()}:${via.port ?? ''}`;
}

/**
 * The top Via of an RFC 2543 request, without what our transport added
 * (`received`, the rport value): a retransmission from a new source port
 * is still the same request.
 */
function viaIdentity(via: Via): string {
  let params = '';
  for (const [k, v] of via.params) if (k !== 'received' && k !== 'rport') params += `;${k}=${v}`;
  return `${via.transport} ${sentBy(via)}${params}`;
}
