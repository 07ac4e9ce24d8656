/**
 * The bodies of a refer subscription's NOTIFYs (RFC 3515 §2.4.4): a
 * message/sipfrag (RFC 3420) whose start line is the status the transferee
 * got for its INVITE to the target, and the Subscription-State header
 * (RFC 6665 §8.2.3) that says whether more NOTIFYs will come.
 */
export interface SipfragStatus {
  status: number;
  reason: string;
}

export interface SubscriptionState {
  state: 'active' | 'pending' | 'terminated' | (string & {});
  reason: string | undefined;
  expires: number | undefined;
}

const STATUS_LINE = /^SIP\/2\.0[ \t]+([1-6]\d\d)(?:[ \t]+([^\r\n]*))?$/i;

/**
 * The status line of a sipfrag body, or undefined when the body holds none:
 * a sipfrag may carry a request line or headers only, which tells us nothing
 * about the transfer's progress. Headers after the start line are ignored.
 */
export function parseSipfrag(body: string | Buffer): SipfragStatus | undefined {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const first = text.replace(/^[\r\n]+/, '').split(/\r?\n/, 1)[0]?.trim() ?? '';
  const m = STATUS_LINE.exec(first);
  if (!m) return undefined;
  return { status: Number(m[1]), reason: (m[2] ?? '').trim() };
}

/** `active;expires=60`, `terminated;reason=noresource`: the state and its parameters. */
export function parseSubscriptionState(value: string | undefined): SubscriptionState | undefined {
  if (!value) return undefined;
  const [state, ...params] = value.split(';').map((s) => s.trim());
  if (!state) return undefined;
  let reason: string | undefined;
  let expires: number | undefined;
  for (const p of params) {
    const [k, v] = p.split('=').map((s) => s.trim());
    if (k?.toLowerCase() === 'reason' && v) reason = v.toLowerCase();
    if (k?.toLowerCase() === 'expires' && v && /^\d+$/.test(v)) expires = Number(v);
  }
  return { state: state.toLowerCase(), reason, expires };
}
