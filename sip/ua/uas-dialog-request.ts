import { newBranch, SipRequest, type SipResponse } from '../message/index.js';

/**
 * A request the UAS sends inside its dialog (RFC 3261 §12.2.1.1): the remote
 * target is the INVITE's Contact, the route set its Record-Route, From is the
 * INVITE's To with our tag. An ACK passes its INVITE's CSeq number and the
 * 2xx it acknowledges (whose To it copies). The Via is a `placeholder` the
 * user agent replaces with its own.
 */
export function uasDialogRequest(invite: SipRequest, localTag: string, protocol: string, method: string, cseq: number, res?: SipResponse): SipRequest {
  const req = new SipRequest(method, invite.contact[0]?.uri ?? invite.from.uri);
  req.setHeader('via', `SIP/2.0/${protocol} placeholder;branch=${newBranch()}`);
  req.setHeader('max-forwards', '70');
  req.setHeader('from', `${String(invite.to)};tag=${localTag}`);
  req.setHeader('to', res ? String(res.to) : String(invite.from));
  req.setHeader('call-id', invite.callId);
  req.setHeader('cseq', `${cseq} ${method}`);
  if (invite.recordRoute.length) req.setHeader('route', ...invite.recordRoute.map(String));
  return req;
}
