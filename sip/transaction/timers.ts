/**
 * RFC 3261 §17 timers, named as in the RFC's Table 4 (and RFC 6026's Timer L).
 * T1, T2 and T4 are configurable; everything else derives from them.
 */
export interface TimerBase {
  /** RTT estimate. Default 500 ms. */
  T1: number;
  /** Longest retransmit interval for non-INVITE requests and INVITE responses. Default 4 s. */
  T2: number;
  /** Longest time a message stays in the network. Default 5 s. */
  T4: number;
}

export const DEFAULT_TIMERS: TimerBase = { T1: 500, T2: 4000, T4: 5000 };

export function timers(base: TimerBase, reliable: boolean) {
  const { T1, T4 } = base;
  return {
    /** INVITE request retransmit (client), initially T1. */
    A: T1,
    /** INVITE client transaction timeout. */
    B: 64 * T1,
    /** Wait time for response retransmits (client INVITE, Completed): >32 s on UDP, 0 on reliable. */
    D: reliable ? 0 : Math.max(32_000, 64 * T1),
    /** non-INVITE request retransmit, initially T1 (unreliable only). */
    E: T1,
    /** non-INVITE client transaction timeout. */
    F: 64 * T1,
    /** INVITE response retransmit (server, Completed), initially T1. */
    G: T1,
    /** Wait time for ACK receipt. */
    H: 64 * T1,
    /** Wait time for ACK retransmits (server, Confirmed). */
    I: reliable ? 0 : T4,
    /** Wait time for non-INVITE request retransmits (server, Completed). */
    J: reliable ? 0 : 64 * T1,
    /** Wait time for response retransmits (client non-INVITE, Completed). */
    K: reliable ? 0 : T4,
    /** RFC 6026: wait time for accepted INVITE request retransmits (server, Accepted). */
    L: 64 * T1,
    /** RFC 6026: wait time for 2xx retransmissions (client INVITE, Accepted), on every transport. */
    M: 64 * T1,
  };
}
