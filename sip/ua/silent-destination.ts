import type { InviteClientTransaction } from '../transaction/invite-client-transaction.js';

/**
 * Kamailio tm's fr_timer for the INVITEs we send: a destination that has not said anything at all
 * (not even 100 Trying) within `ms` is down or a black hole, and the caller may rather try another
 * than wait for Timer B (64·T1, 32 s), which comes after most ring timeouts. Any response means
 * someone is there: from then on the ring timeout and Timer B decide, as without this watch.
 */
export interface SilenceWatch {
  /** A response came: the destination is alive, the watch is over. */
  heard(): void;
}

/**
 * Starts the watch over the call's current INVITE transaction (`tx()`: it changes when a challenge
 * is answered). When it fires, the INVITE is not retransmitted any more (§9.1 allows no CANCEL
 * before a provisional response) but its transaction lives on until Timer B, so a late response
 * still reaches the call, which then cancels or ends what it gave up; `giveUp` ends the call.
 */
export function watchSilence(ms: number, tx: () => InviteClientTransaction | undefined, giveUp: (detail: string) => void): SilenceWatch {
  const timer = setTimeout(() => {
    tx()?.stopRetransmitting();
    giveUp(`no response at all within ${ms} ms: destination given up`);
  }, ms);
  return { heard: () => clearTimeout(timer) };
}
