import type { SipRequest, SipResponse } from '../message/index.js';
import type { InviteClientTransaction } from '../transaction/invite-client-transaction.js';
import type { Peer, Transport } from '../transport/transport.js';
import { expiryMs, readSessionExpires, type SessionNegotiation, type SessionTimerOptions } from './session-timer.js';

/** What the refresh needs of the dialog it keeps alive (IncomingCall provides it). */
export interface RefreshedDialog {
  readonly invite: SipRequest;
  readonly source: Peer;
  readonly transport: Transport;
  /** The dialog is confirmed (ACKed) and not ended: only then do we refresh. */
  readonly confirmed: boolean;
  readonly ended: boolean;
  /** Our current SDP, repeated unchanged in a re-INVITE refresh. */
  readonly localSdp: string | undefined;
  /** A request inside the dialog (§12.2.1.1). */
  inDialog(method: string, ackSeq?: number, res?: SipResponse): SipRequest;
  /** The session is gone: BYE and end with 'session-expired'. */
  expire(): void;
  readonly owner: {
    contactFor(transport: Transport): string;
    sendRequest(req: SipRequest, to: Peer, transport: Transport): Promise<SipResponse>;
    sendInvite(req: SipRequest, to: Peer, transport: Transport): InviteClientTransaction;
    sendAck(ack: SipRequest, to: Peer, transport: Transport): void;
    readonly sessionTimers: Required<SessionTimerOptions>;
  };
}

/**
 * RFC 4028 session timers on one dialog, once negotiated: our refresh at half
 * the interval when we are the refresher (UPDATE when the caller allows it,
 * else a re-INVITE with our SDP unchanged, §7.4 / §10), and the expiry that
 * ends the dialog when no refresh succeeded in time.
 */
export class SessionRefresh {
  readonly #d: RefreshedDialog;
  #session: { interval: number; weRefresh: boolean } | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;
  /** Our refresh re-INVITE is in progress: an incoming re-INVITE meanwhile gets 491 (RFC 3261 §14.2). */
  #refreshing = false;

  constructor(dialog: RefreshedDialog) {
    this.#d = dialog;
  }

  get refreshing(): boolean {
    return this.#refreshing;
  }

  /** The session interval in force (seconds) and who refreshes it. */
  get timer(): { interval: number; refresher: 'us' | 'peer' } | undefined {
    return this.#session && { interval: this.#session.interval, refresher: this.#session.weRefresh ? 'us' : 'peer' };
  }

  /** Puts a negotiated session timer in force (§10: each 2xx to a refresh restarts it); returns the 2xx's headers. */
  apply(st: SessionNegotiation): Record<string, string> {
    if (st.kind !== 'on') {
      this.#session = undefined;
      this.#disarm();
      return {};
    }
    // In the request's roles: `uac` is the peer that sent it, `uas` is us.
    this.#session = { interval: st.interval, weRefresh: st.refresher === 'uas' };
    this.#arm();
    return { 'session-expires': `${st.interval};refresher=${st.refresher}`, ...(st.require && { require: 'timer' }) };
  }

  /** The dialog ended: no more refreshes, no expiry. */
  stop(): void {
    this.#disarm();
    this.#session = undefined;
  }

  #arm(): void {
    this.#disarm();
    const s = this.#session;
    if (!s || this.#d.ended) return;
    // §10: the refresher refreshes at half the interval, and its session ends at the interval if no refresh
    // succeeded; the other side sends BYE a little before that (interval − min(32, interval/3)).
    if (s.weRefresh) this.#refreshTimer = unref(setTimeout(() => this.#refresh(), (s.interval * 1000) / 2));
    this.#expiryTimer = unref(setTimeout(() => this.#d.expire(), s.weRefresh ? s.interval * 1000 : expiryMs(s.interval)));
  }

  #disarm(): void {
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#expiryTimer);
    this.#refreshTimer = undefined;
    this.#expiryTimer = undefined;
  }

  /** §7.4 / §10: our refresh, by UPDATE when the caller allows it (no offer needed), else by re-INVITE with our SDP unchanged. */
  #refresh(): void {
    const s = this.#session;
    const d = this.#d;
    if (!s || !d.confirmed || this.#refreshing) return;
    const useUpdate = d.invite.headerValues('allow').some((line) => /(^|[\s,])UPDATE([\s,]|$)/i.test(line));
    const req = d.inDialog(useUpdate ? 'UPDATE' : 'INVITE');
    // We send this request, so in its roles we are the UAC: `refresher=uac` keeps the refresh with us.
    req.setHeader('session-expires', `${s.interval};refresher=uac`);
    req.setHeader('min-se', String(d.owner.sessionTimers.minSE));
    req.setHeader('supported', 'timer');
    req.setHeader('contact', `<${d.owner.contactFor(d.transport)}>`);
    if (!useUpdate && d.localSdp !== undefined) req.setBody(d.localSdp, 'application/sdp');
    this.#refreshing = true;
    const failed = () => {
      this.#refreshing = false;
      // §10: a refresh that times out (or gets 408/481) means the session is gone.
      d.expire();
    };
    if (useUpdate) {
      d.owner.sendRequest(req, d.source, d.transport).then((res) => this.#refreshed(s.interval, res), failed);
      return;
    }
    const tx = d.owner.sendInvite(req, d.source, d.transport);
    tx.response.then((res) => {
      if (res.status >= 200 && res.status < 300) {
        const ack = d.inDialog('ACK', req.cseq.seq, res);
        d.owner.sendAck(ack, d.source, d.transport);
        tx.on2xxRetransmission = () => d.owner.sendAck(ack, d.source, d.transport);
      }
      this.#refreshed(s.interval, res);
    }, failed);
  }

  #refreshed(interval: number, res: SipResponse): void {
    this.#refreshing = false;
    if (this.#d.ended) return;
    if (res.status >= 200 && res.status < 300) {
      const se = readSessionExpires(res);
      // §7.2: a 2xx without Session-Expires turns the timer off.
      this.#session = se && { interval: se.interval, weRefresh: se.refresher !== 'uas' };
      if (this.#session) this.#arm();
      else this.#disarm();
      return;
    }
    if (res.status === 408 || res.status === 481) {
      this.#d.expire();
      return;
    }
    if (res.status === 422) {
      // §7.4: retry at least at the peer's Min-SE; one that does not grow would loop, so the expiry timer decides.
      const min = Number(res.header('min-se')?.split(';')[0]);
      if (Number.isFinite(min) && min > interval && this.#session) {
        this.#session.interval = min;
        this.#refresh();
      }
    }
    // Any other failure leaves the session unrefreshed: the expiry timer ends it if nothing better happens.
  }
}

function unref(t: NodeJS.Timeout): NodeJS.Timeout {
  t.unref();
  return t;
}
