import type { SipRequest, SipResponse } from '../message/index.js';
import { isUri } from '../message/index.js';
import { parseSipfrag, parseSubscriptionState, type SipfragStatus } from './sipfrag.js';

/** What a blind transfer needs of the dialog it runs in (IncomingCall provides it). */
export interface ReferDialog {
  readonly callId: string;
  readonly invite: SipRequest;
  request(method: string, headers: Record<string, string>): Promise<SipResponse>;
  on(event: 'notify', listener: (req: SipRequest, respond: (status: number) => void) => void): unknown;
  off(event: 'notify', listener: (req: SipRequest, respond: (status: number) => void) => void): unknown;
  once(event: 'ended', listener: (reason: string) => void): unknown;
  off(event: 'ended', listener: (reason: string) => void): unknown;
}

export interface ReferOptions {
  /** The Refer-To URI (sip:, sips: or tel:). */
  target: string;
  /** How long the first NOTIFY may take after the REFER was sent. */
  notifyTimeoutMs: number;
  /** How long the final sipfrag may take after the first NOTIFY (the target ringing). */
  answerTimeoutMs: number;
  /** Each sipfrag status as it arrives (100, 180, 200…). */
  onProgress?(status: SipfragStatus): void;
}

/** Why a REFER did not transfer the call. */
export type ReferFailure = 'refused' | 'target-failed' | 'no-notify' | 'no-answer' | 'subscription-ended' | 'dialog-ended' | 'unreachable';

export type ReferOutcome =
  /** `status`: the final sipfrag's, or 0 when the carrier hung up on us after accepting the REFER. */
  | { ok: true; status: number }
  | { ok: false; why: ReferFailure; status?: number; detail: string };

/**
 * A blind transfer (RFC 3515): REFER in the call's dialog, then the implicit
 * subscription's NOTIFYs (message/sipfrag) until the transferee's INVITE to
 * the target got a final answer. Resolves, never rejects: a refused REFER
 * (405, 501, 603…), a final failure sipfrag, a missing NOTIFY, a subscription
 * terminated before any final status, and a dialog that ended all say why.
 * Every NOTIFY of ours is answered 200 while the transfer is pending; once it
 * is settled the listener is gone and a late NOTIFY gets 481 from the dialog,
 * which ends the carrier's subscription (RFC 6665 §4.1.3).
 */
export function sendRefer(dialog: ReferDialog, o: ReferOptions): Promise<ReferOutcome> {
  if (!isUri(o.target) || !/^(sips?|tel):/i.test(o.target)) {
    return Promise.resolve({ ok: false, why: 'refused', detail: `Refer-To must be a sip:, sips: or tel: URI, not "${o.target}"` });
  }
  return new Promise<ReferOutcome>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    /** The REFER got its 2xx: the carrier took the transfer on. */
    let accepted = false;
    const arm = (ms: number, why: ReferFailure, detail: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => settle({ ok: false, why, detail }), ms);
    };
    const onNotify = (req: SipRequest, respond: (status: number) => void) => {
      // RFC 6665 §8.2.1: a NOTIFY for a package we did not subscribe to is 489 Bad Event.
      if (!/^refer\b/i.test(req.header('event') ?? '')) { respond(489); return; }
      respond(200);
      const frag = /message\/sipfrag/i.test(req.contentType ?? '') ? parseSipfrag(req.body) : undefined;
      const sub = parseSubscriptionState(req.header('subscription-state'));
      if (frag) {
        o.onProgress?.(frag);
        if (frag.status >= 200 && frag.status < 300) { settle({ ok: true, status: frag.status }); return; }
        if (frag.status >= 300) { settle({ ok: false, why: 'target-failed', status: frag.status, detail: `the transfer target answered ${frag.status} ${frag.reason}`.trim() }); return; }
        arm(o.answerTimeoutMs, 'no-answer', `no final NOTIFY within ${o.answerTimeoutMs} ms of the first`);
      }
      if (sub?.state === 'terminated') settle({ ok: false, why: 'subscription-ended', detail: `the refer subscription ended (${sub.reason ?? 'no reason'}) before a final status` });
    };
    // RFC 5589 §6: the transferee ends our dialog once the transfer is done; its BYE may overtake the final NOTIFY.
    const onEnded = (reason: string) => settle(accepted && reason === 'bye' ? { ok: true, status: 0 } : { ok: false, why: 'dialog-ended', detail: `the call ended (${reason}) during the transfer` });
    const settle = (outcome: ReferOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      dialog.off('notify', onNotify);
      dialog.off('ended', onEnded);
      resolve(outcome);
    };
    // Listen first: a carrier may send its first NOTIFY before its 202 reaches us.
    dialog.on('notify', onNotify);
    dialog.once('ended', onEnded);
    arm(o.notifyTimeoutMs, 'no-notify', `no NOTIFY within ${o.notifyTimeoutMs} ms of the REFER`);
    const referredBy = `<${dialog.invite.to.uri}>`;
    dialog.request('REFER', { 'refer-to': `<${o.target}>`, 'referred-by': referredBy }).then((res) => {
      accepted = res.status < 300;
      if (res.status >= 300) settle({ ok: false, why: 'refused', status: res.status, detail: `REFER answered ${res.status} ${res.reason}`.trim() });
    }, (err: unknown) => {
      settle({ ok: false, why: 'unreachable', detail: `REFER got no answer: ${err instanceof Error ? err.message : String(err)}` });
    });
  });
}
