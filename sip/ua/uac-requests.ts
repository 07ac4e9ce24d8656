import { newBranch, SipRequest, uriHostPort, type SipResponse } from '../message/index.js';
import type { Destination, TransportProtocol } from '../transport/transport.js';
import { onInviteBranch } from '../transaction/invite-client-transaction.js';

/** What every request of one outgoing dialog shares (RFC 3261 §8.1.1, §12.1.2). */
export interface UacIdentity {
  callId: string;
  /** Request-URI of the INVITE, and the To URI. */
  target: string;
  /** Our address of record (From URI), and its display name. */
  from: string;
  fromName?: string;
  localTag: string;
  contact: string;
  protocol: TransportProtocol;
  /** Preloaded route (the trunk's outbound proxy), §8.1.2: loose routing, so the Request-URI stays the target. */
  route: readonly string[];
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE';

/** §8.1.1: the INVITE (and its retry with credentials: same Call-ID and From tag, CSeq + 1, a new branch). */
export function buildInvite(id: UacIdentity, cseq: number, sdp: string, extra: Readonly<Record<string, string>>): SipRequest {
  const req = new SipRequest('INVITE', id.target);
  req.setHeader('via', `SIP/2.0/${id.protocol} placeholder;branch=${newBranch()}`);
  req.setHeader('max-forwards', '70');
  req.setHeader('from', `${id.fromName ? `"${id.fromName.replace(/["\\\r\n]/g, '')}" ` : ''}<${id.from}>;tag=${id.localTag}`);
  req.setHeader('to', `<${id.target}>`);
  req.setHeader('call-id', id.callId);
  req.setHeader('cseq', `${cseq} INVITE`);
  req.setHeader('contact', `<${id.contact}>`);
  req.setHeader('allow', ALLOW);
  if (id.route.length) req.setHeader('route', ...id.route.map((r) => `<${r}>`));
  for (const [k, v] of Object.entries(extra)) req.setHeader(k, v);
  req.setBody(sdp, 'application/sdp');
  return req;
}

/**
 * §9.1: CANCEL copies the INVITE's Request-URI, Call-ID, To, From, CSeq number, Route and its
 * top Via (the branch is how the peer finds the INVITE to cancel).
 */
export function buildCancel(invite: SipRequest): SipRequest {
  return onInviteBranch(invite, 'CANCEL', String(invite.to));
}

/** The dialog state a 2xx (or a dialog-forming 18x) establishes, §12.1.2. */
export interface UacDialogState {
  remoteTag: string;
  /** The 2xx's To, with the remote tag. */
  remote: string;
  remoteTarget: string;
  /** §12.1.2: the Record-Route of the response, reversed. */
  routeSet: string[];
}

export function dialogFrom(invite: SipRequest, res: SipResponse): UacDialogState {
  return {
    remoteTag: res.to.tag ?? '',
    remote: String(res.to),
    remoteTarget: res.contact[0]?.uri ?? invite.uri,
    routeSet: res.recordRoute.map(String).reverse(),
  };
}

/**
 * A request inside the dialog (§12.2.1.1): Request-URI the remote target, Route the route
 * set, To with the remote tag. An ACK for a 2xx reuses the INVITE's CSeq number (§13.2.2.4).
 */
export function buildInDialog(method: string, id: UacIdentity, d: UacDialogState, cseq: number, inviteFrom: string): SipRequest {
  const req = new SipRequest(method, d.remoteTarget);
  req.setHeader('via', `SIP/2.0/${id.protocol} placeholder;branch=${newBranch()}`);
  req.setHeader('max-forwards', '70');
  req.setHeader('from', inviteFrom);
  req.setHeader('to', d.remote);
  req.setHeader('call-id', id.callId);
  req.setHeader('cseq', `${cseq} ${method}`);
  if (method === 'INVITE' || method === 'UPDATE') req.setHeader('contact', `<${id.contact}>`);
  if (d.routeSet.length) req.setHeader('route', ...d.routeSet);
  return req;
}

/**
 * Where an in-dialog request goes (§12.2.1.1, §8.1.2): the first route's host when the route
 * set is not empty, else the remote target's. A host name (not an IP) is not resolved here: the
 * dialog keeps sending where the INVITE went, which is the proxy that would route it anyway.
 */
export function nextHop(d: UacDialogState, fallback: Destination): Destination {
  const first = d.routeSet[0];
  const uri = first ? /<([^>]+)>/.exec(first)?.[1] ?? first : d.remoteTarget;
  try {
    const hp = uriHostPort(uri);
    const host = hp.host.replace(/^\[(.*)\]$/, '$1');
    if (!/^[\d.]+$/.test(host) && !host.includes(':')) return fallback;
    const named = hp.params.get('transport')?.toUpperCase() as TransportProtocol | undefined;
    const transport = named ?? (fallback.transport?.toUpperCase() as TransportProtocol | undefined);
    // A TLS hop keeps the trunk's TLS settings (CA, client certificate, the name to verify): a
    // Record-Route names the carrier's proxy by IP, whose certificate is still issued to the name
    // the trunk was configured with (RFC 5922 §7 verifies the name we meant to reach).
    const tls = transport === 'TLS' && fallback.tls ? { tls: fallback.tls } : {};
    return { address: host, port: hp.port ?? (transport === 'TLS' ? 5061 : 5060), ...(transport ? { transport } : {}), ...tls };
  } catch {
    return fallback;
  }
}
