import { randomInt } from 'node:crypto';
import type { SipMessage, SipRequest, SipResponse } from '../message/index.js';

/** The RFC 3262 option tag. */
export const REL100 = '100rel';

function optionTags(msg: SipMessage, header: string): string[] {
  return msg.headerValues(header).flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase());
}

/** Does the INVITE allow (Supported) or demand (Require) reliable provisional responses? */
export function takes100rel(invite: SipRequest): boolean {
  return optionTags(invite, 'supported').includes(REL100) || optionTags(invite, 'require').includes(REL100);
}

/** Parses `RAck: 776656 1 INVITE` (RFC 3262 §7.2). */
export function parseRAck(value: string | undefined): { rseq: number; cseq: number; method: string } | undefined {
  const m = /^\s*(\d{1,10})\s+(\d{1,10})\s+([A-Za-z]+)\s*$/.exec(value ?? '');
  return m ? { rseq: Number(m[1]), cseq: Number(m[2]), method: m[3]!.toUpperCase() } : undefined;
}

export interface ReliableProvisionalOptions {
  invite: SipRequest;
  t1: number;
  /** Passes a (re)transmission of the provisional response to the INVITE's server transaction. */
  send(res: SipResponse): void;
  /** 64·T1 passed without the PRACK: the owner rejects the INVITE with a 5xx (§3). */
  timedOut(): void;
}

interface Outstanding {
  rseq: number;
  res: SipResponse;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The UAS half of RFC 3262 for one INVITE: each non-100 provisional response
 * goes out reliably (Require: 100rel, RSeq one higher than the last) and is
 * retransmitted from T1, doubling, until a PRACK whose RAck names it arrives
 * (§3); after 64·T1 without one the owner is told to give up. A second
 * reliable provisional response waits until the first is acknowledged (§3:
 * "The UAS MUST NOT send a second reliable provisional response until the
 * first is acknowledged"). `settled()` lets the owner hold its 2xx until
 * nothing is outstanding.
 */
export class ReliableProvisional {
  readonly #o: ReliableProvisionalOptions;
  /** §3: "The value of the RSeq … MUST be … chosen uniformly between 1 and 2**31 - 1"; we keep it lower so +1s stay in range. */
  #rseq = randomInt(1, 2 ** 30);
  #outstanding: Outstanding | undefined;
  readonly #queue: SipResponse[] = [];
  #waiters: Array<(acknowledged: boolean) => void> = [];
  #stopped = false;
  #timedOut = false;

  constructor(o: ReliableProvisionalOptions) {
    this.#o = o;
  }

  /** A reliable provisional response went unacknowledged for 64·T1. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** True while a reliable provisional response is unacknowledged (or queued behind one). */
  get pending(): boolean {
    return this.#outstanding !== undefined || this.#queue.length > 0;
  }

  send(res: SipResponse): void {
    if (this.#stopped) return;
    if (this.#outstanding) {
      this.#queue.push(res);
      return;
    }
    const rseq = ++this.#rseq;
    res.setHeader('require', REL100);
    res.setHeader('rseq', String(rseq));
    const o: Outstanding = { rseq, res, timer: undefined };
    this.#outstanding = o;
    this.#o.send(res);
    let interval = this.#o.t1;
    let waited = 0;
    // §3: retransmitted "with an interval that starts at T1 seconds and doubles for each retransmission", whatever the transport.
    const tick = () => {
      waited += interval;
      if (waited >= 64 * this.#o.t1) {
        this.#timedOut = true;
        this.stop();
        this.#o.timedOut();
        return;
      }
      this.#o.send(res);
      interval *= 2;
      o.timer = setTimeout(tick, interval);
    };
    o.timer = setTimeout(tick, interval);
  }

  /**
   * A PRACK for this INVITE: true (answer 200) when its RAck names the
   * outstanding response, false (answer 481, §3) for anything else. A
   * retransmitted PRACK arrives on the same server transaction and never gets here.
   */
  prack(req: SipRequest): boolean {
    const rack = parseRAck(req.header('rack'));
    const o = this.#outstanding;
    if (!rack || !o || rack.rseq !== o.rseq || rack.cseq !== this.#o.invite.cseq.seq || rack.method !== 'INVITE') return false;
    clearTimeout(o.timer);
    this.#outstanding = undefined;
    const next = this.#queue.shift();
    if (next) this.send(next);
    else this.#release(true);
    return true;
  }

  /** Resolves true once nothing is outstanding, false if the PRACK never came or the call ended first. */
  settled(): Promise<boolean> {
    if (!this.pending) return Promise.resolve(!this.#timedOut);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The INVITE got its final response (or the call ended): no more retransmissions. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#outstanding?.timer);
    this.#outstanding = undefined;
    this.#queue.length = 0;
    this.#release(false);
  }

  #release(acknowledged: boolean): void {
    for (const w of this.#waiters.splice(0)) w(acknowledged);
  }
}
