import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { PoolBase, PooledConnection, PoolStats } from '../pools/index.js';
import type { Call, CallSnapshot, CallsView } from '../calls/index.js';
import type { TurnRecord } from '../agent/index.js';
import type { LeaseGateStats } from '../boot/lease-gate.js';
import type { CoordinationChanges } from '../boot/coordination.js';
import type { RegistrationSnapshot } from '../../sip/registration/index.js';
import type { RowWriter } from './row-writer.js';
import type { Row, TableName } from './tables.js';
import { LiveWindow, type GatePoint, type PoolPoint, type RegistrationPoint } from './live.js';

export type WatchedPool = PoolBase<PooledConnection>;

/** What the recorder samples; the gateway supplies it from its public state. */
export interface RecorderSources {
  replicaId(): string;
  pools(): readonly WatchedPool[];
  calls(): CallsView;
  registrations(): readonly RegistrationSnapshot[];
  gates(): readonly LeaseGateStats[];
  /** Registration and cap changes as they happen: each is a row at once (the 1 s sample only feeds the live charts). */
  changes?: EventEmitter<CoordinationChanges>;
}

const num = (v: number | undefined): number | null => (v === undefined || Number.isNaN(v) ? null : v);

/** What the calls row of a refused call says. */
export interface RefusedCall { sipCallId: string; did: string; caller: string; agent: string; tenant: string; refusal: string; transport: string; region?: string }

/**
 * Turns what the gateway does into rows and live samples: a row per call when
 * it ends and per turn when it is done (from the Call's own events), a pool
 * snapshot every `snapshotMs`, and an event row whenever a pool is exhausted or
 * replaces a connection, its slow-acquire alarm flips, a registration changes
 * state, or a provider-cap gate changes mode or slot count or refuses a slot
 * (cap hit). Registration and cap rows are written when the change happens
 * (from the coordination's events), so a flap shorter than the 1 s sample is
 * still a row. All of it costs a `push()` on the caller's side; the writer
 * does the I/O later.
 */
export class Recorder {
  readonly live = new LiveWindow();
  readonly #writer: RowWriter;
  readonly #snapshotMs: number;
  #sources: RecorderSources | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastSnapshot = 0;
  readonly #watched = new WeakSet<WatchedPool>();
  readonly #slow = new WeakMap<WatchedPool, boolean>();
  readonly #replaced = new WeakMap<WatchedPool, number>();
  readonly #lastCause = new WeakMap<WatchedPool, string>();
  readonly #registrations = new Map<string, string>();
  readonly #gates = new Map<string, string>();
  #answered = 0;
  #ended = 0;

  constructor(writer: RowWriter, snapshotMs: number) {
    this.#writer = writer;
    this.#snapshotMs = snapshotMs;
  }

  #replica(): string {
    return this.#sources?.replicaId() ?? '';
  }

  #push<T extends TableName>(table: T, row: Row<T>): void {
    this.#writer.push({ table, row });
  }

  /** Listens to a pool's events from the moment it exists (called where the gateway creates pools). */
  watchPool(pool: WatchedPool): void {
    if (this.#watched.has(pool)) return;
    this.#watched.add(pool);
    const event = (kind: string, reason: string) => this.#poolEvent(pool, Date.now(), this.#replica(), kind, reason);
    pool.on('exhausted', (err) => event('exhausted', err.message));
    // The pool counts a replacement without saying why; the last unasked close is the likely reason.
    pool.on('close', (info) => { if (info.cause) this.#lastCause.set(pool, info.cause.message); });
    pool.on('keepalive-failed', (err) => event('keepalive-failed', err.message));
    pool.on('open-failed', (err) => event('open-failed', err.message));
  }

  #poolEvent(pool: WatchedPool, t: number, replica: string, kind: string, reason: string): void {
    this.#push('pool_events', { id: randomUUID(), at: t, replica, pool: pool.name, upstream: pool.factory.upstream, pool_key: pool.factory.key, kind, reason });
    this.live.event({ t, pool: pool.name, kind, reason });
  }

  /** A replacement is seen in the pool's counter (it has no event of its own). */
  #replacements(p: WatchedPool, s: PoolStats, t: number, replica: string): void {
    const before = this.#replaced.get(p);
    this.#replaced.set(p, s.replacements);
    if (before === undefined || s.replacements <= before) return;
    const reason = this.#lastCause.get(p) ?? 'connection not reusable after its lease (reset refused) or past maxAge';
    this.#lastCause.delete(p);
    for (let i = before; i < s.replacements; i++) this.#poolEvent(p, t, replica, 'replacement', reason);
  }

  /** One call: a row per turn as each is done, and the call's row when it ends. */
  onCall(call: Call, started: Promise<void>): void {
    let answeredAt: number | null = null;
    started.then(() => {
      if (call.state === 'active') {
        answeredAt = Date.now();
        this.#answered++;
      }
    }, () => undefined);
    call.on('turn', (t) => this.#turn(call, t));
    call.once('ended', () => {
      this.#ended++;
      const s = call.snapshot();
      const dropped = s.rtp ? Object.values(s.rtp.dropped).reduce((a, b) => a + b, 0) : null;
      this.#push('calls', {
        id: s.id, sip_call_id: s.callId, did: s.did, caller: s.caller, agent: s.agent, replica: this.#replica(),
        codec: s.codec ?? null, transport: transportOf(s), started_at: call.startedAt, answered_at: answeredAt,
        ended_at: Date.now(), end_reason: s.endReason ?? null, turns: s.turns.length,
        rtp_received: s.rtp?.received ?? null, rtp_sent: s.rtp?.sent ?? null, rtp_lost: s.rtp?.lost ?? null, rtp_dropped: dropped,
        tenant: s.tenant ?? null, refusal: null, region: s.region ?? null, failover_from: s.failedOverFrom ?? null,
      });
      this.live.callsChanged();
    });
  }

  /** A call refused before it existed (over its tenant's limit): a calls row with the reason, no Call behind it. */
  onRefused(r: RefusedCall): void {
    const now = Date.now();
    this.#push('calls', {
      id: randomUUID(), sip_call_id: r.sipCallId, did: r.did, caller: r.caller, agent: r.agent, replica: this.#replica(),
      codec: null, transport: r.transport, started_at: now, answered_at: null, ended_at: now, end_reason: 'refused', turns: 0,
      rtp_received: null, rtp_sent: null, rtp_lost: null, rtp_dropped: null, tenant: r.tenant, refusal: r.refusal,
      region: r.region || null, failover_from: null,
    });
  }

  #turn(call: Call, t: TurnRecord): void {
    const m = t.marks;
    const a = t.acquireMs;
    // The record arrives when the turn is done: its speech end was `done` ms ago.
    const at = Math.round(Date.now() - (m.done ?? m.firstRtpOut ?? 0));
    this.#push('turns', {
      id: `${call.id}:${t.turn}`, call_id: call.id, turn: t.turn, agent: call.snapshot().agent, replica: this.#replica(), at, outcome: t.outcome,
      asr_final_ms: num(m.asrFinal), llm_first_token_ms: num(m.llmFirstToken), tts_first_audio_ms: num(m.ttsFirstAudio),
      first_rtp_out_ms: num(m.firstRtpOut), done_ms: num(m.done),
      acquire_asr_ms: num(a.asr), acquire_tts_ms: num(a.tts), acquire_llm_ms: num(a.llm), acquire_crm_ms: num(a.crm),
      connections_opened: t.connectionsOpened,
    });
  }

  /** Starts sampling: live every second, a snapshot row per pool every `snapshotMs`. */
  start(sources: RecorderSources): void {
    this.#sources = sources;
    for (const p of sources.pools()) this.watchPool(p);
    // What was already there before the recorder listened, then every change as it happens.
    for (const r of sources.registrations()) this.registrationChanged(r);
    for (const g of sources.gates()) this.gateChanged(g, 'start');
    sources.changes?.on('registration', (r) => this.registrationChanged(r));
    sources.changes?.on('released', (id) => this.#registrationReleased(id));
    sources.changes?.on('gate', (g, kind) => this.gateChanged(g, kind));
    this.sample();
    this.#timer = setInterval(() => this.sample(), 1000);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One sample now (also from tests, so they need not wait for the clock). */
  sample(forceSnapshot = false): void {
    const src = this.#sources;
    if (!src) return;
    const t = Date.now();
    const replica = src.replicaId();
    const pools = src.pools();
    const snapshot = forceSnapshot || t - this.#lastSnapshot >= this.#snapshotMs;
    if (snapshot) this.#lastSnapshot = t;
    const perUpstream = new Map<string, number>();
    const points: PoolPoint[] = pools.map((p) => {
      this.watchPool(p);
      const s = p.stats();
      const n = (perUpstream.get(p.name) ?? 0) + 1;
      perUpstream.set(p.name, n);
      this.#slowAlarm(p, s, t, replica);
      this.#replacements(p, s, t, replica);
      if (snapshot) this.#snapshot(s, t, replica);
      return {
        label: n === 1 ? p.name : `${p.name}·${n}`, upstream: s.upstream, key: s.key, state: s.state,
        size: s.size, idle: s.idle, inUse: s.inUse, target: s.target, pending: s.pending, p95: s.acquireP95Ms,
        opens: s.opens, replacements: s.replacements, exhausted: s.exhausted, slow: s.acquireSlow,
      };
    });
    const registrations = src.registrations().map((r): RegistrationPoint => {
      // Without a change feed (tests that drive sample() by hand), a changed state seen here is the event.
      if (!src.changes) this.registrationChanged(r, t);
      return { id: r.id, state: r.state, lastStatus: r.lastStatus ?? null, rttMs: r.rttMs ?? null, failures: r.failures };
    });
    const gates = src.gates().map((g): GatePoint => {
      if (!src.changes) this.gateChanged(g, this.#gates.has(g.provider) ? 'held' : 'start', t);
      return { provider: g.provider, mode: g.mode, held: g.held, limit: g.limit, localCap: g.localCap, replicas: g.replicas, fairShare: g.fairShare };
    });
    const w = this.#writer.stats();
    this.live.add({
      t, replica, pools: points, callsActive: src.calls().active.length, callsAnswered: this.#answered, callsEnded: this.#ended,
      registrations, gates, analytics: { queued: w.queued, dropped: w.dropped, written: w.written, storeUp: w.storeUp, store: '' },
    });
  }

  #snapshot(s: PoolStats, t: number, replica: string): void {
    this.#push('pool_snapshots', {
      id: randomUUID(), at: t, replica, pool: s.name, upstream: s.upstream, pool_key: s.key, state: s.state,
      size: s.size, idle: s.idle, in_use: s.inUse, target: s.target, pending: s.pending,
      acquire_p50_ms: s.acquireP50Ms, acquire_p95_ms: s.acquireP95Ms, acquire_p99_ms: s.acquireP99Ms,
      opens: s.opens, closes: s.closes, replacements: s.replacements, keepalive_failures: s.keepaliveFailures, exhausted: s.exhausted,
    });
  }

  #slowAlarm(p: WatchedPool, s: PoolStats, t: number, replica: string): void {
    const was = this.#slow.get(p) ?? false;
    this.#slow.set(p, s.acquireSlow);
    if (was === s.acquireSlow) return;
    const kind = s.acquireSlow ? 'slow-acquire-on' : 'slow-acquire-off';
    this.#poolEvent(p, t, replica, kind, `acquire p95 ${s.acquireP95Ms.toFixed(2)} ms`);
  }

  /** A registration's state as it changed: a row unless it is the state already recorded. */
  registrationChanged(r: RegistrationSnapshot, t = Date.now()): void {
    const previous = this.#registrations.get(r.id);
    if (previous === r.state) return;
    this.#registrations.set(r.id, r.state);
    this.#push('registration_events', {
      id: randomUUID(), at: t, replica: this.#replica(), registration: r.id, state: r.state, previous: previous ?? null,
      last_status: r.lastStatus ?? null, failures: r.failures, rtt_ms: r.rttMs ?? null,
    });
  }

  /** Ownership moved to another replica (or drain): this replica no longer refreshes it (the reason is in the log). */
  #registrationReleased(id: string): void {
    const previous = this.#registrations.get(id);
    this.#registrations.delete(id);
    this.#push('registration_events', {
      id: randomUUID(), at: Date.now(), replica: this.#replica(), registration: id, state: 'released', previous: previous ?? null,
      last_status: null, failures: null, rtt_ms: null,
    });
  }

  /**
   * A provider-cap gate as it changed: a slot taken or given back ('held'; skipped when the
   * count and mode are those already recorded), its mode flipped, or a take refused ('cap-hit').
   */
  gateChanged(g: LeaseGateStats, kind: 'start' | 'held' | 'mode' | 'cap-hit', t = Date.now()): void {
    const state = `${g.mode}/${g.held}`;
    const previous = this.#gates.get(g.provider);
    if (previous === state && kind !== 'cap-hit') return;
    this.#gates.set(g.provider, state);
    const recorded = previous === undefined ? 'start' : kind === 'held' && previous.split('/')[0] !== g.mode ? 'mode' : kind;
    this.#push('lease_events', {
      id: randomUUID(), at: t, replica: this.#replica(), provider: g.provider, kind: recorded, mode: g.mode, held: g.held, cap: g.limit, local_cap: g.localCap, replicas: g.replicas,
    });
  }
}

/**
 * `webrtc` for a browser's leg (SIP over WebSocket, DTLS-SRTP media); otherwise `sip/` and the SIP
 * transport the INVITE came over (`sip/udp`, `sip/tcp`, `sip/tls`, `sip/ws`, `sip/wss`), so
 * `transport LIKE 'sip/%'` selects the carriers' calls.
 */
export function transportOf(s: Pick<CallSnapshot, 'media' | 'sipTransport'>): string {
  return s.media === 'webrtc' ? 'webrtc' : `sip/${s.sipTransport.toLowerCase()}`;
}
