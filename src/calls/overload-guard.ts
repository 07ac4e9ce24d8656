import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Refusal } from '../../sip/index.js';
import type { Logger } from '../log.js';
import { OverloadedError } from './errors.js';

/** One window of event-loop delay: how late the loop's ticks ran, in ms beyond their due time. */
export interface DelayWindow {
  /** Ticks measured in the window; 0 carries no evidence either way. */
  samples: number;
  /** The median tick's delay. */
  p50Ms: number;
  /** The worst tick's delay. */
  maxMs: number;
}

/** Where the guard reads the loop's delay: `take()` returns the window since the last take and starts a new one. */
export interface DelaySource {
  take(): DelayWindow;
  stop(): void;
}

/**
 * perf_hooks' event-loop delay histogram, read and reset once per window. Its samples are the
 * whole time between two ticks (the resolution included): the resolution is subtracted.
 */
export function eventLoopDelaySource(resolutionMs = 10): DelaySource {
  const h = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  const late = (ns: number) => Math.max(0, ns / 1e6 - resolutionMs);
  return {
    take() {
      // An empty histogram's percentiles are not zero (Node 20 reports a few hundred ns): count first.
      const w = h.count > 0 ? { samples: h.count, p50Ms: late(h.percentile(50)), maxMs: late(h.max) } : { samples: 0, p50Ms: 0, maxMs: 0 };
      h.reset();
      return w;
    },
    stop: () => h.disable(),
  };
}

export interface OverloadGuardOptions {
  /** calls.overload.maxLoopDelayMs: the mark the window's median delay must reach to trip; 0 turns the guard off. */
  maxLoopDelayMs: number;
  /** calls.overload.retryAfterS: the Retry-After of every refusal. */
  retryAfterS: number;
  /** How often the delay is read (one window). Default 500 ms. */
  windowMs?: number;
  /** Default: perf_hooks' monitorEventLoopDelay (tests inject scripted windows). */
  source?: () => DelaySource;
  /** Default: performance.now. */
  now?: () => number;
  registry?: Registry;
  log?: Logger;
}

export interface OverloadView {
  enabled: boolean;
  overloaded: boolean;
  /** When the current overload began (ISO 8601), while overloaded. */
  since?: string;
  /** The last window with samples: its median and worst tick delay, ms. */
  loopDelayMs: { p50: number; max: number };
  maxLoopDelayMs: number;
  /** Overloaded clears after a whole window whose worst tick stays below this. */
  clearBelowMs: number;
  retryAfterS: number;
  trips: number;
  refused: { invite: number; dial: number };
}

/**
 * Trips only after this many windows in a row above the mark (1.5 s; empty windows skipped). One
 * long synchronous stretch — a 1.2 s block, say — is recorded as one tick, and that tick can be
 * the only one of its window when the read follows it: alone it must not trip. Nor must a few
 * back to back: the embedded local TTS synthesizes each new phrase synchronously in the gateway's
 * process (~150 ms, far more on a loaded machine), and a reply of a few new sentences is a second
 * of such blocks. A saturated gateway lags for as long as its load lasts; 1.5 s is still early
 * against the caller's ~10 s of patience and the INVITE's retransmissions (0.5, 1.5, 3.5 s…).
 */
const TRIP_WINDOWS = 3;
/** The clearing mark as a share of the tripping one: the gap is the hysteresis that keeps it from flapping. */
const CLEAR_SHARE = 0.5;

/**
 * Protects a saturated gateway from itself. Measures its own event-loop delay; while the loop
 * lags (the median tick of three windows in a row late by `maxLoopDelayMs` or more), new INVITEs get
 * 503 with Retry-After (RFC 3261 §21.5.4: the carrier routes the call to another gateway, where it
 * is answered in time, instead of to us where it would be answered after the caller gave up and
 * then hold a port, a pacer slot and leases until its RTP timeout) and outbound dials are refused.
 * Everything that finishes admitted calls passes: in-dialog requests and CANCEL (ACK never asks).
 * It clears after one whole window whose worst tick stayed below half the mark.
 *
 * Why the window's median to trip, not its p99 or max: a saturated loop is late on every tick,
 * while p99 and max are one tick — a GC pause, one synchronous speech synthesis of the embedded
 * local TTS (~150 ms), the process descheduled on a shared machine — and would need a mark so high
 * that it trips late. Why the max to clear: "below the lower mark for a whole window" means no
 * tick of it was late, not just most.
 */
export class OverloadGuard {
  readonly #o: Required<Pick<OverloadGuardOptions, 'maxLoopDelayMs' | 'retryAfterS' | 'windowMs'>> & OverloadGuardOptions;
  readonly #now: () => number;
  readonly #refused: Counter<'what'> | undefined;
  readonly #trips: Counter | undefined;
  #source: DelaySource | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastTick = 0;
  #overloaded = false;
  #since = 0;
  #streak = 0;
  #last: DelayWindow = { samples: 0, p50Ms: 0, maxMs: 0 };
  readonly #counts = { trips: 0, invite: 0, dial: 0 };

  constructor(o: OverloadGuardOptions) {
    this.#o = { windowMs: 500, ...o };
    this.#now = o.now ?? (() => performance.now());
    if (o.registry) {
      const registers = [o.registry];
      const guard = this;
      new Gauge({ name: 'warmline_overload_active', help: '1 while the gateway refuses new calls as overloaded (calls.overload)', registers, collect() { this.set(guard.#overloaded ? 1 : 0); } });
      new Gauge({ name: 'warmline_overload_loop_delay_seconds', help: 'Event-loop delay of the last window: its median and worst tick', labelNames: ['stat'], registers, collect() {
        this.set({ stat: 'p50' }, guard.#last.p50Ms / 1000);
        this.set({ stat: 'max' }, guard.#last.maxMs / 1000);
      } });
      this.#refused = new Counter({ name: 'warmline_overload_refused_total', help: 'New calls refused as overloaded: invite (503 to the carrier), dial (POST /api/calls)', labelNames: ['what'], registers });
      this.#trips = new Counter({ name: 'warmline_overload_trips_total', help: 'Times the gateway became overloaded', registers });
    }
  }

  get enabled(): boolean {
    return this.#o.maxLoopDelayMs > 0;
  }

  get overloaded(): boolean {
    return this.#overloaded;
  }

  /** Starts measuring (a no-op when the guard is off or already started); the timer never keeps the process alive. */
  start(): void {
    if (!this.enabled || this.#timer) return;
    this.#source = (this.#o.source ?? (() => eventLoopDelaySource()))();
    this.#lastTick = this.#now();
    this.#timer = setInterval(() => this.tick(), this.#o.windowMs);
    this.#timer.unref();
  }

  /** Stops measuring; a stopped guard refuses nothing. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#source?.stop();
    this.#source = undefined;
    this.#overloaded = false;
    this.#streak = 0;
  }

  /** Reads one window from the source and decides (the interval calls it). */
  tick(): void {
    if (!this.#source) return;
    const now = this.#now();
    // The histogram drops the first tick after a reset, so a loop blocked for longer than a window
    // can leave one empty: our own timer's lateness is then the evidence.
    const late = Math.max(0, now - this.#lastTick - this.#o.windowMs);
    this.#lastTick = now;
    const w = this.#source.take();
    this.observe(w.samples > 0 || late === 0 ? w : { samples: 1, p50Ms: late, maxMs: late });
  }

  /** The decision: one window of delay readings in, the state (tripped, held, cleared) updated. */
  observe(w: DelayWindow): void {
    if (!this.enabled || w.samples === 0) return;
    this.#last = w;
    const mark = this.#o.maxLoopDelayMs;
    if (!this.#overloaded) {
      this.#streak = w.p50Ms >= mark ? this.#streak + 1 : 0;
      if (this.#streak < TRIP_WINDOWS) return;
      this.#overloaded = true;
      this.#since = Date.now();
      this.#counts.trips++;
      this.#trips?.inc();
      this.#o.log?.warn({ loopDelayMs: round(w.p50Ms), maxLoopDelayMs: mark, retryAfterS: this.#o.retryAfterS }, 'overloaded: the event loop lags, new calls get 503 until it recovers');
    } else if (w.maxMs < mark * CLEAR_SHARE) {
      this.#overloaded = false;
      this.#streak = 0;
      this.#o.log?.info({ loopDelayMs: round(w.maxMs), overloadedForMs: Date.now() - this.#since, refused: { ...this.#counts } }, 'overload cleared: new calls are taken again');
    }
  }

  /**
   * For the UA's inboundFilter: a new INVITE (no To tag) gets 503 + Retry-After while overloaded.
   * Nothing else is refused: in-dialog requests and CANCEL finish admitted work (refusing them
   * keeps a finished call's port and leases until its RTP timeout), OPTIONS is answered from a
   * constant (and a carrier's OPTIONS ping answered 503 would take the trunk down for its whole
   * ping interval), and every other out-of-dialog method gets a 481 or 501 that starts nothing.
   */
  readonly filter = (req: { method: string; to: { tag?: string | undefined } }): Refusal | undefined => {
    if (!this.#overloaded || req.method !== 'INVITE' || req.to.tag !== undefined) return undefined;
    this.#counts.invite++;
    this.#refused?.inc({ what: 'invite' });
    return { status: 503, reason: 'Service Unavailable (overloaded)', headers: { 'Retry-After': String(this.#o.retryAfterS) } };
  };

  /** For the Dialer: throws OverloadedError (the API's 503 + Retry-After) while overloaded; nothing is sent then. */
  checkDial(): void {
    if (!this.#overloaded) return;
    this.#counts.dial++;
    this.#refused?.inc({ what: 'dial' });
    throw new OverloadedError({ delayMs: round(this.#last.p50Ms), maxLoopDelayMs: this.#o.maxLoopDelayMs, retryAfterS: this.#o.retryAfterS });
  }

  view(): OverloadView {
    return {
      enabled: this.enabled,
      overloaded: this.#overloaded,
      ...(this.#overloaded && { since: new Date(this.#since).toISOString() }),
      loopDelayMs: { p50: round(this.#last.p50Ms), max: round(this.#last.maxMs) },
      maxLoopDelayMs: this.#o.maxLoopDelayMs,
      clearBelowMs: this.#o.maxLoopDelayMs * CLEAR_SHARE,
      retryAfterS: this.#o.retryAfterS,
      trips: this.#counts.trips,
      refused: { invite: this.#counts.invite, dial: this.#counts.dial },
    };
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
