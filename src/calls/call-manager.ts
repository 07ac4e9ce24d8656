import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { IncomingCall, Peer, SipRequest, UserAgent } from '../../sip/index.js';
import type { AgentConfig, RouteConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { TurnRecord } from '../agent/index.js';
import { Call, type CallDeps, type CallEndReason, type CallSnapshot } from './call.js';
import { callContext } from './call-context.js';
import { findRoute, normaliseNumber, uriUser, type Route } from './route.js';

export interface CallManagerOptions extends Omit<CallDeps, 'log'> {
  ua: UserAgent;
  routes: readonly RouteConfig[];
  agents: Readonly<Record<string, AgentConfig>>;
  maxConcurrent: number;
  registry: Registry;
  log: Logger;
  /**
   * May this INVITE's source assert the caller's identity (P-Asserted-Identity, RFC 3325)? The
   * gateway answers: a configured carrier, directly or through a configured balancer. Absent: nobody.
   */
  trustedSource?: (invite: SipRequest, source: Peer) => boolean;
  /** Sees every call the manager starts, with its answer (analytics); must not throw. */
  onCall?: (call: Call, started: Promise<void>) => void;
  /** The route of a called number (tenants: src/tenants); default: the first of `routes` that matches. */
  route?: (did: string, sip: IncomingCall) => Route | undefined;
  /** Admits a routed call against its tenant's limits before anything upstream is touched (src/tenants). */
  admit?: (route: Route, sip: IncomingCall) => Promise<Admitted | RefusedAdmission>;
}

export interface Admitted { ok: true; release(): void }
export interface RefusedAdmission { ok: false; status: number; reason: string; headers: Record<string, string>; why: string }

export interface CallsView {
  active: CallSnapshot[];
  /** The last few ended calls, newest first, so a finished call's turns can still be read. */
  recent: CallSnapshot[];
  totals: { answered: number; refused: number; ended: Record<string, number> };
}

const RECENT = 20;
const LATENCY_BUCKETS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5];

/**
 * Takes each INVITE the user agent hands over: refuses what it cannot serve
 * (no route → 404, over capacity → 503 so a balancer tries another replica),
 * starts a Call for the rest, and keeps the live view and the metrics of
 * calls and turns.
 */
export class CallManager {
  readonly #o: CallManagerOptions;
  readonly #log: Logger;
  readonly #active = new Map<string, Call>();
  readonly #recent: CallSnapshot[] = [];
  readonly #totals: CallsView['totals'] = { answered: 0, refused: 0, ended: {} };
  readonly #idle: Array<() => void> = [];
  readonly #metrics: ReturnType<typeof createMetrics>;

  constructor(o: CallManagerOptions) {
    this.#o = o;
    this.#log = o.log.child({ component: 'calls' });
    this.#metrics = createMetrics(o.registry, () => this.#active.size);
    o.ua.on('invite', (sip) => this.#offered(sip));
    // Counted where the UA answers, so every stage's refusal is counted once: the edge's, the UA's,
    // ours below, and the Call's during setup (488, 503 with no ASR socket, 500).
    o.ua.on('refused', (_invite, status) => {
      this.#totals.refused++;
      this.#metrics.refused.inc({ status: String(status) });
    });
  }

  get activeCount(): number {
    return this.#active.size;
  }

  #refuse(sip: IncomingCall, status: number, reason: string, why: string, headers?: Record<string, string>): void {
    this.#log.warn({ callId: sip.callId, status, why }, 'INVITE refused');
    sip.reject(status, reason, headers);
  }

  #offered(sip: IncomingCall): void {
    const did = normaliseNumber(uriUser(sip.invite.uri)) || normaliseNumber(uriUser(sip.invite.to.uri));
    const caller = normaliseNumber(uriUser(sip.invite.from.uri));
    if (this.#active.size >= this.#o.maxConcurrent) {
      this.#refuse(sip, 503, 'Service Unavailable', `at calls.maxConcurrent (${this.#o.maxConcurrent})`);
      return;
    }
    const route = this.#o.route ? this.#o.route(did, sip) : findRoute(this.#o.routes, this.#o.agents, did);
    if (!route) {
      this.#refuse(sip, 404, 'Not Found', `no route for called number "${did}"`);
      return;
    }
    if (!this.#o.admit) {
      this.#start(sip, route, did, caller);
      return;
    }
    // A hook that throws instead of rejecting (a bug, a region it cannot resolve) must not escape
    // this event handler: it would be an uncaught exception and end the process. It becomes a 500.
    const admit = this.#o.admit;
    new Promise<Admitted | RefusedAdmission>((resolve) => resolve(admit(route, sip))).then((a) => {
      if (!a.ok) return this.#refuse(sip, a.status, a.reason, a.why, a.headers);
      // CANCELled while the limits were asked, or the replica filled up meanwhile.
      if (sip.state !== 'offered' && sip.state !== 'early') return a.release();
      if (this.#active.size >= this.#o.maxConcurrent) {
        a.release();
        return this.#refuse(sip, 503, 'Service Unavailable', `at calls.maxConcurrent (${this.#o.maxConcurrent})`);
      }
      try {
        this.#start(sip, route, did, caller).once('ended', () => a.release());
      } catch (err) {
        a.release();
        throw err;
      }
    }).catch((err: unknown) => {
      this.#log.error({ err, callId: sip.callId }, 'tenant admission or call start failed');
      this.#refuse(sip, 500, 'Server Internal Error', 'tenant admission or call start failed');
    });
  }

  #start(sip: IncomingCall, route: Route, did: string, caller: string): Call {
    const context = callContext(sip.invite, this.#o.trustedSource?.(sip.invite, sip.source) ?? false);
    const call = new Call(sip, route, { did, caller, context }, { ...this.#o, log: this.#o.log });
    this.adopt(call, () => call.start());
    return call;
  }

  /** Tracks a call from its start: inbound ones from #offered, answered outbound ones from dial.ts. */
  adopt(call: Call, start: () => Promise<void>): void {
    this.#active.set(call.id, call);
    call.on('turn', (t) => this.#turn(t));
    call.once('ended', (reason) => this.#ended(call, reason));
    const started = start();
    this.#o.onCall?.(call, started);
    started.then(() => {
      if (call.state === 'active') this.#totals.answered++;
    }, (err: unknown) => {
      // start() turns setup failures into refusals; this is a bug, and it ends one call, not the process.
      this.#log.error({ err, call: call.id }, 'call start failed');
      call.end('setup-failed');
    });
  }

  #turn(t: TurnRecord): void {
    const m = this.#metrics;
    const kind = t.turn === 1 ? 'first' : 'later';
    const out = t.marks.firstRtpOut;
    if (out !== undefined) m.response.observe({ turn: kind }, out / 1000);
    for (const [mark, at] of Object.entries(t.marks)) if (mark !== 'speechEnd') m.marks.observe({ mark }, at / 1000);
    for (const [upstream, ms] of Object.entries(t.acquireMs)) m.acquire.observe({ upstream }, ms / 1000);
    m.opened.inc(t.connectionsOpened);
    m.turns.inc({ outcome: t.outcome });
  }

  #ended(call: Call, reason: CallEndReason): void {
    this.#active.delete(call.id);
    this.#totals.ended[reason] = (this.#totals.ended[reason] ?? 0) + 1;
    this.#metrics.ended.inc({ reason });
    const rtp = call.rtp?.stats;
    if (rtp) {
      for (const [why, n] of Object.entries(rtp.dropped)) if (n) this.#metrics.rtpDropped.inc({ why }, n);
      if (rtp.lost) this.#metrics.rtpLost.inc(rtp.lost);
    }
    this.#recent.unshift(call.snapshot());
    this.#recent.length = Math.min(this.#recent.length, RECENT);
    if (this.#active.size === 0) for (const w of this.#idle.splice(0)) w();
  }

  /** One active call by its id (the transfer API). */
  find(id: string): Call | undefined {
    return this.#active.get(id);
  }

  /** Hangs up one call (ops, tests); false when no such call is active. */
  hangup(id: string): boolean {
    const call = this.#active.get(id);
    if (!call) return false;
    call.end('hangup');
    return true;
  }

  view(): CallsView {
    return {
      active: [...this.#active.values()].map((c) => c.snapshot()),
      recent: [...this.#recent],
      totals: { ...this.#totals, ended: { ...this.#totals.ended } },
    };
  }

  /** Resolves when no call is active, or after `ms`, whichever is first; true if idle. */
  whenIdle(ms: number): Promise<boolean> {
    if (this.#active.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.#idle.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /**
   * SIGTERM: new INVITEs get 503 (the balancer moves them), calls in progress
   * may finish within `graceMs`, and whatever is left is hung up.
   */
  async drain(graceMs: number): Promise<void> {
    this.#o.ua.draining = true;
    const n = this.#active.size;
    if (n) this.#log.info({ calls: n, graceMs }, 'draining: waiting for calls in progress');
    const idle = await this.whenIdle(graceMs);
    if (!idle) {
      this.#log.warn({ calls: this.#active.size }, 'drain grace over: hanging up the calls still in progress');
      await this.closeAll('shutdown');
    }
  }

  /** Ends every call now; waits (at most `byeWaitMs`) for the BYEs to be answered so shutdown does not cut them off. */
  async closeAll(reason: CallEndReason = 'shutdown', byeWaitMs = 2000): Promise<void> {
    const calls = [...this.#active.values()];
    for (const c of calls) c.end(reason);
    if (calls.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(calls.map((c) => c.byeSettled)),
      new Promise<void>((resolve) => { timer = setTimeout(resolve, byeWaitMs); }),
    ]);
    clearTimeout(timer);
  }
}

function createMetrics(registry: Registry, active: () => number) {
  return {
    active: new Gauge({ name: 'warmline_calls_active', help: 'Calls in progress', registers: [registry], collect() { this.set(active()); } }),
    refused: new Counter({ name: 'warmline_calls_refused_total', help: 'INVITEs refused, by SIP status', labelNames: ['status'], registers: [registry] }),
    ended: new Counter({ name: 'warmline_calls_ended_total', help: 'Calls ended, by reason', labelNames: ['reason'], registers: [registry] }),
    turns: new Counter({ name: 'warmline_turns_total', help: 'Agent turns, by outcome', labelNames: ['outcome'], registers: [registry] }),
    response: new Histogram({ name: 'warmline_turn_response_seconds', help: "Caller's end of speech to the first RTP packet of the reply", labelNames: ['turn'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    marks: new Histogram({ name: 'warmline_turn_mark_seconds', help: 'Time from end of speech to each mark of the turn timeline', labelNames: ['mark'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    acquire: new Histogram({ name: 'warmline_turn_acquire_seconds', help: 'Upstream acquisition time inside a turn', labelNames: ['upstream'], buckets: [0.00001, 0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5], registers: [registry] }),
    opened: new Counter({ name: 'warmline_turn_connections_opened_total', help: 'Upstream connections a turn had to wait to open (0 when warm)', registers: [registry] }),
    rtpDropped: new Counter({ name: 'warmline_rtp_dropped_total', help: 'Inbound RTP packets dropped, by why', labelNames: ['why'], registers: [registry] }),
    rtpLost: new Counter({ name: 'warmline_rtp_lost_total', help: 'Inbound RTP packets lost in transit (sequence gaps)', registers: [registry] }),
  };
}
