import { randomUUID } from 'node:crypto';
import type { Call } from './call.js';
import type { OutboundEndReason } from './outbound-outcome.js';

/** An outbound call's state as the API shows it. */
export type OutboundState = 'dialing' | 'ringing' | 'early' | 'answered' | 'ended';

/** GET /api/calls/:id. */
export interface OutboundView {
  id: string;
  direction: 'outbound';
  state: OutboundState;
  to: string;
  from: string;
  trunk: string;
  agent: string;
  /** The SIP Call-ID, once the INVITE is built. */
  sipCallId: string | undefined;
  /** The last final SIP status (200 when answered; 486, 487, 503… when it failed). */
  sipStatus: number | undefined;
  sipReason: string | undefined;
  reason: OutboundEndReason | undefined;
  detail: string | undefined;
  createdAt: string;
  answeredAt: string | undefined;
  endedAt: string | undefined;
  /** The Call's id once answered (its turns and transcript are under /api/calls). */
  callId: string | undefined;
  /** RTP packets so far, early media included (a 183's answer opens the session). */
  rtp: { received: number; sent: number } | undefined;
}

/** One outbound call from the dial to its end: what the API reads, and the Call once answered. */
export class OutboundRecord {
  readonly id = randomUUID();
  readonly createdAt = Date.now();
  state: OutboundState = 'dialing';
  sipCallId: string | undefined;
  sipStatus: number | undefined;
  sipReason: string | undefined;
  reason: OutboundEndReason | undefined;
  detail: string | undefined;
  answeredAt: number | undefined;
  endedAt: number | undefined;
  call: Call | undefined;
  /** Our hang-up (DELETE, dial's caller): CANCEL before the answer, BYE after. Set by the dialer. */
  hangup: () => Promise<void> = () => Promise.resolve();
  /** The RTP session's counters, from the early answer on. Set by the dialer. */
  rtpStats: () => { received: number; sent: number } | undefined = () => undefined;
  readonly #waiters: Array<() => void> = [];
  readonly #answerWaiters: Array<(call: Call | undefined) => void> = [];

  constructor(readonly to: string, readonly from: string, readonly trunk: string, readonly agent: string) {}

  /** Resolves when the call has ended. */
  get whenEnded(): Promise<void> {
    if (this.state === 'ended') return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Resolves with the Call once answered, or undefined when the call ended without an answer. */
  get whenAnswered(): Promise<Call | undefined> {
    if (this.call || this.state === 'ended') return Promise.resolve(this.call);
    return new Promise((resolve) => this.#answerWaiters.push(resolve));
  }

  /** @internal the dialer reports the answer. */
  answered(call: Call): void {
    this.call = call;
    this.state = 'answered';
    this.answeredAt = Date.now();
    for (const w of this.#answerWaiters.splice(0)) w(call);
  }

  /** @internal the dialer reports the end, once. */
  end(reason: OutboundEndReason, detail?: string): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.reason = reason;
    if (detail !== undefined) this.detail = detail;
    this.endedAt = Date.now();
    for (const w of this.#answerWaiters.splice(0)) w(this.call);
    for (const w of this.#waiters.splice(0)) w();
  }

  view(): OutboundView {
    const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());
    return {
      id: this.id, direction: 'outbound', state: this.state, to: this.to, from: this.from, trunk: this.trunk, agent: this.agent,
      sipCallId: this.sipCallId, sipStatus: this.sipStatus, sipReason: this.sipReason, reason: this.reason, detail: this.detail,
      createdAt: new Date(this.createdAt).toISOString(), answeredAt: iso(this.answeredAt), endedAt: iso(this.endedAt), callId: this.call?.id, rtp: this.rtpStats(),
    };
  }
}
