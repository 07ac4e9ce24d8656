import type { SipMessage } from '../message/index.js';

/** RFC 4028 session timers on our side of a dialog. */
export interface SessionTimerOptions {
  /**
   * Our Min-SE in seconds: an INVITE whose Session-Expires is smaller gets
   * 422 with this value (RFC 4028 §8.1). The RFC's floor is 90; lower values
   * exist so that tests run in seconds. Default 90.
   */
  minSE?: number;
  /** Who refreshes when the request leaves it to us (§9). Default 'uac': the caller, who asked for the timer. */
  preferredRefresher?: 'uac' | 'uas';
  /** Ignore Session-Expires altogether (answer as a UA without the extension would). Default true. */
  enabled?: boolean;
}

export const DEFAULT_SESSION_TIMERS: Required<SessionTimerOptions> = { minSE: 90, preferredRefresher: 'uac', enabled: true };

/** What a request asked for, read from its Session-Expires, Min-SE, Supported and Require. */
export type SessionNegotiation =
  | { kind: 'off' }
  /** §8.1: the interval is below our Min-SE: answer 422 carrying it. */
  | { kind: 'too-small'; minSE: number }
  | {
      kind: 'on';
      /** Seconds. */
      interval: number;
      /** The `refresher` parameter for our 2xx, in the roles of this transaction (`uac` is the request's sender). */
      refresher: 'uac' | 'uas';
      /** The sender supports the extension: our 2xx carries `Require: timer` (§9). */
      require: boolean;
    };

/** `Session-Expires: 1800;refresher=uac` → { interval: 1800, refresher: 'uac' }. */
export function readSessionExpires(m: SipMessage): { interval: number; refresher: 'uac' | 'uas' | undefined } | undefined {
  const v = m.header('session-expires');
  if (v === undefined) return undefined;
  const n = /^\s*(\d{1,9})\s*(?:;|$)/.exec(v);
  if (!n) return undefined;
  const r = /;\s*refresher\s*=\s*(uac|uas)\b/i.exec(v)?.[1]?.toLowerCase() as 'uac' | 'uas' | undefined;
  return { interval: Number(n[1]), refresher: r };
}

export function hasOptionTag(m: SipMessage, header: 'supported' | 'require', tag: string): boolean {
  return m.headerValues(header).some((line) => line.split(',').some((t) => t.trim().toLowerCase() === tag));
}

/** §9: the UAS's side of the negotiation, for an INVITE or a refresh (re-INVITE, UPDATE). */
export function negotiateSession(req: SipMessage, o: Required<SessionTimerOptions>): SessionNegotiation {
  if (!o.enabled) return { kind: 'off' };
  const se = readSessionExpires(req);
  if (!se) return { kind: 'off' };
  if (se.interval < o.minSE) return { kind: 'too-small', minSE: o.minSE };
  const supported = hasOptionTag(req, 'supported', 'timer') || hasOptionTag(req, 'require', 'timer');
  // §9: a UAC that does not support the extension cannot refresh; the UAS must.
  const refresher = !supported ? 'uas' : se.refresher ?? o.preferredRefresher;
  return { kind: 'on', interval: se.interval, refresher, require: supported };
}

/**
 * §10: without a refresh, the side that does not refresh sends BYE at
 * `interval − min(32, interval/3)` seconds after the last one.
 */
export function expiryMs(interval: number): number {
  return (interval - Math.min(32, interval / 3)) * 1000;
}
