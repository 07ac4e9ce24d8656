import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { CapacityGate, CapacitySlot } from '../pools/index.js';
import {
  fairShare, LeaseInvalidArgumentError, LeaseLostError, localDeadline,
  type LeaseGrant, type LeaseLogger, type LeaseStore, type SemaphoreView,
} from '../leases/index.js';
import { checkLimit, checkName, checkTtl } from '../leases/validate.js';

export interface LeaseGateOptions {
  store: LeaseStore;
  /** Semaphore name: one per provider account, e.g. 'deepgram:project-x'. */
  provider: string;
  /** The provider's global concurrency cap, all replicas together. */
  limit: number;
  ttlMs: number;
  replicaId: string;
  /**
   * Share of `limit` this replica may hold on its own while the store is unreachable. With N
   * replicas, a share ≤ 1/N keeps the global cap even through an outage; a larger share trades
   * that for capacity. Default 1/2.
   */
  localShare?: number;
  /**
   * Closes up to `count` idle (warm, unleased) connections of this provider and returns how many it
   * closed; each gives its slot back through release(). Called when other replicas are waiting and
   * this one holds more than its fair share. Without it, fairness holds only at grant time.
   */
  reclaimIdle?: (count: number) => number;
  logger?: LeaseLogger;
}

export type LeaseGateMode = 'global' | 'local';

export interface LeaseGateStats {
  provider: string;
  mode: LeaseGateMode;
  held: number;
  /** Slots granted locally during an outage that Redis has not confirmed yet. */
  localOnly: number;
  limit: number;
  localCap: number;
  /** From the last answer of the store. */
  replicas: number;
  othersWaiting: number;
  fairShare: number;
  degradations: number;
  reclaimed: number;
}

export interface LeaseGateEvents {
  /** The store stopped answering: the gate now enforces `localCap` on its own. */
  degraded: [info: { provider: string; error: Error; localCap: number; held: number }];
  /** The store answers again: `reacquired` slots were confirmed against the global cap, `lost` were not. */
  recovered: [info: { provider: string; reacquired: number; lost: number }];
  /** Other replicas wait and this one held more than its fair share: `closed` idle connections gave their slots back. */
  reclaim: [info: { provider: string; surplus: number; closed: number }];
  /**
   * As it happens (analytics records it): a slot taken or given back ('held'), the mode flipped
   * ('mode'), or a take refused because the cap is full ('cap-hit', once until a slot frees).
   */
  changed: [kind: 'held' | 'mode' | 'cap-hit'];
}

interface Slot {
  readonly id: string;
  /** undefined while granted locally only (during an outage). */
  token: number | undefined;
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
  readonly listeners: Array<(reason: Error) => void>;
}

const silent: LeaseLogger = { info() {}, warn() {}, error() {} };

/**
 * The adapter between the pools and the lease store, so that neither knows the other (it lives in
 * src/boot, beside the gateway's composition). It implements the pools' CapacityGate over a
 * provider's global cap in the lease store, one slot per open connection. One heartbeat per gate
 * renews all its slots every ttl/3 in a single round trip.
 *
 * Failure rules, and why:
 * - the store answers that a slot is gone → the slot is lost (the pool closes the connection),
 *   unless the store lost its data (epoch changed) and our local deadline has not passed: then the
 *   slot is re-taken against the cap, so a Redis restart drops no call;
 * - the local deadline passes with no sign of an outage (e.g. this process was paused) → lost:
 *   another replica may legitimately hold the slot by now;
 * - the store errors (down, frozen past commandTimeout) → degraded: a loud warning, slots already
 *   open are kept, new ones are granted up to localCap; when the store answers again every slot is
 *   re-taken against the global cap and those that do not fit are lost.
 */
export class LeaseGate extends EventEmitter<LeaseGateEvents> implements CapacityGate {
  readonly #o: Required<Omit<LeaseGateOptions, 'reclaimIdle'>> & { reclaimIdle: ((count: number) => number) | undefined };
  readonly localCap: number;
  readonly #slots = new Set<Slot>();
  /** Slots released while the store was unreachable: given back when it answers, not left to the TTL. */
  readonly #orphans: LeaseGrant[] = [];
  #mode: LeaseGateMode = 'global';
  #view: SemaphoreView | undefined;
  #epoch: string | undefined;
  #heartbeat: NodeJS.Timeout;
  #beating = false;
  #closed = false;
  #seq = 0;
  #degradations = 0;
  #reclaimed = 0;
  /** A take was refused for want of room and no slot has been given back since: one 'cap-hit' per episode. */
  #atCap = false;

  constructor(options: LeaseGateOptions) {
    super();
    checkName('provider', options.provider); checkName('replicaId', options.replicaId);
    checkLimit(options.limit); checkTtl(options.ttlMs);
    const localShare = options.localShare ?? 0.5;
    if (!(localShare > 0 && localShare <= 1)) throw new LeaseInvalidArgumentError({ argument: 'localShare', value: localShare });
    this.#o = { ...options, localShare, logger: options.logger ?? silent, reclaimIdle: options.reclaimIdle };
    this.localCap = Math.max(1, Math.floor(options.limit * localShare));
    this.#heartbeat = setInterval(() => {
      this.beat().catch((err: unknown) => this.#o.logger.error({ provider: options.provider, err }, 'lease heartbeat failed unexpectedly'));
    }, Math.floor(options.ttlMs / 3));
    this.#heartbeat.unref();
  }

  get mode(): LeaseGateMode { return this.#mode; }
  held(): number { return this.#slots.size; }

  stats(): LeaseGateStats {
    let localOnly = 0;
    for (const s of this.#slots) if (s.token === undefined) localOnly++;
    const replicas = this.#view?.replicas ?? 1;
    return {
      provider: this.#o.provider, mode: this.#mode, held: this.#slots.size, localOnly, limit: this.#o.limit, localCap: this.localCap,
      replicas, othersWaiting: this.#view?.othersWaiting ?? 0, fairShare: fairShare(this.#o.limit, replicas),
      degradations: this.#degradations, reclaimed: this.#reclaimed,
    };
  }

  async tryTake(signal?: AbortSignal): Promise<CapacitySlot | undefined> {
    if (signal?.aborted || this.#closed) return undefined;
    const { store, provider, limit, ttlMs, replicaId } = this.#o;
    if (this.#mode === 'global') {
      try {
        const { grant, view } = await store.semaphoreTake(provider, limit, replicaId, ttlMs, false);
        this.#see(view);
        if (!grant) return this.#capHit();
        if (this.#closed || signal?.aborted) { store.semaphoreRelease(grant).catch(() => false); return undefined; }
        return this.#add(grant.token, grant.localDeadline);
      } catch (err) {
        this.#degrade(err);
      }
    }
    // Degraded: the local share of the cap, counted over every slot this replica holds.
    if (this.#slots.size >= this.localCap) return this.#capHit();
    return this.#add(undefined, Infinity);
  }

  #capHit(): undefined {
    if (!this.#atCap) {
      this.#atCap = true;
      this.emit('changed', 'cap-hit');
    }
    return undefined;
  }

  /**
   * Drain: stops the heartbeat and gives every slot still held back to the store at once, so other
   * replicas need not wait for the TTL. The pool is closing too, so no slot is reported lost.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    const { store, provider, replicaId } = this.#o;
    const grants: LeaseGrant[] = [...this.#orphans.splice(0)];
    for (const s of [...this.#slots]) {
      if (s.token !== undefined) grants.push({ key: provider, owner: replicaId, token: s.token, localDeadline: 0 });
      this.#drop(s);
    }
    await Promise.all(grants.map((g) => store.semaphoreRelease(g).catch(() => false)));
  }

  /** One heartbeat: renew, reconcile, reclaim. Exposed so tests and drain can force one. */
  async beat(): Promise<void> {
    if (this.#beating || this.#closed) return;
    this.#beating = true;
    const { store, provider, limit, ttlMs, replicaId } = this.#o;
    try {
      const held = [...this.#slots];
      const tokens: number[] = [];
      for (const s of held) if (s.token !== undefined) tokens.push(s.token);
      const started = performance.now();
      let hb;
      try {
        hb = await store.semaphoreHeartbeat(provider, replicaId, ttlMs, tokens);
      } catch (err) {
        this.#degrade(err);
        return;
      }
      const recovering = this.#mode === 'local';
      // Global again before arming, so every confirmed slot gets its local-deadline timer now.
      this.#mode = 'global';
      for (const g of this.#orphans.splice(0)) await store.semaphoreRelease(g).catch(() => false);
      const dataLost = this.#epoch !== undefined && hb.view.epoch !== this.#epoch;
      this.#see(hb.view);
      const deadline = localDeadline(started, ttlMs);
      const retake: Slot[] = [];
      for (const s of held) {
        if (s.done) continue;
        if (s.token !== undefined && hb.alive.has(s.token)) { this.#arm(s, deadline); continue; }
        // Not held in the store. Recovering from an outage or a store that lost its data: the
        // connection is open and may carry a call, so try to take it back before giving it up.
        if (recovering || s.token === undefined || (dataLost && performance.now() < s.deadline)) retake.push(s);
        else this.#lose(s, 'the store no longer holds this slot');
      }
      let reacquired = 0;
      let lost = 0;
      for (const s of retake) {
        if (s.done) continue;
        try {
          const { grant, view } = await store.semaphoreTake(provider, limit, replicaId, ttlMs, true);
          this.#see(view);
          if (!grant) { this.#lose(s, 'no room in the global cap after the store came back'); lost++; continue; }
          // Released while the take was in flight: give the new slot straight back.
          if (s.done) { store.semaphoreRelease(grant).catch(() => false); continue; }
          s.token = grant.token;
          this.#arm(s, grant.localDeadline);
          reacquired++;
        } catch (err) {
          this.#degrade(err);
          return;
        }
      }
      if (recovering) {
        this.#o.logger.warn({ provider, reacquired, lost, held: this.#slots.size }, 'lease store reachable again: slots re-established against the global cap');
        this.emit('recovered', { provider, reacquired, lost });
        this.emit('changed', 'mode');
      }
      this.#reclaimSurplus();
    } finally {
      this.#beating = false;
    }
  }

  #see(view: SemaphoreView): void {
    this.#view = view;
    this.#epoch = view.epoch;
  }

  /** Others wait and we hold more than our share: give idle connections back (never busy ones). */
  #reclaimSurplus(): void {
    const view = this.#view;
    if (!view || view.othersWaiting === 0 || !this.#o.reclaimIdle) return;
    const surplus = this.#slots.size - fairShare(this.#o.limit, view.replicas);
    if (surplus <= 0) return;
    const closed = this.#o.reclaimIdle(surplus);
    if (closed === 0) return; // every slot above the share carries a call: those are never taken
    this.#reclaimed += closed;
    this.emit('reclaim', { provider: this.#o.provider, surplus, closed });
  }

  #degrade(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.#mode === 'local') return;
    this.#mode = 'local';
    this.#degradations++;
    for (const s of this.#slots) { clearTimeout(s.timer); s.timer = undefined; }
    const info = { provider: this.#o.provider, error, localCap: this.localCap, held: this.#slots.size };
    this.#o.logger.error({ provider: info.provider, err: error.message, localCap: info.localCap, held: info.held },
      'LEASE STORE UNREACHABLE: provider cap enforced locally only (open connections keep their slots)');
    this.emit('degraded', info);
    this.emit('changed', 'mode');
  }

  #add(token: number | undefined, deadline: number): CapacitySlot {
    const slot: Slot = { id: `${this.#o.provider}@${this.#o.replicaId}-${++this.#seq}`, token, deadline, timer: undefined, done: false, listeners: [] };
    this.#slots.add(slot);
    if (token !== undefined) this.#arm(slot, deadline);
    this.emit('changed', 'held');
    const { store, provider, replicaId } = this.#o;
    return {
      id: slot.id,
      release: () => {
        if (slot.done) return;
        const t = slot.token;
        this.#drop(slot);
        if (t === undefined) return;
        const grant: LeaseGrant = { key: provider, owner: replicaId, token: t, localDeadline: 0 };
        store.semaphoreRelease(grant).catch(() => { this.#orphans.push(grant); });
      },
      onLost(listener) { slot.listeners.push(listener); },
    };
  }

  #arm(slot: Slot, deadline: number): void {
    slot.deadline = deadline;
    clearTimeout(slot.timer);
    if (this.#mode === 'local') { slot.timer = undefined; return; }
    slot.timer = setTimeout(() => {
      // An outage already seen keeps the slot; silence with no error (we were paused) does not.
      if (this.#mode === 'global') this.#lose(slot, 'renewal not confirmed before the local deadline');
    }, Math.max(0, deadline - performance.now()));
    slot.timer.unref();
  }

  #drop(slot: Slot): void {
    slot.done = true;
    clearTimeout(slot.timer);
    this.#slots.delete(slot);
    this.#atCap = false;
    if (!this.#closed) this.emit('changed', 'held');
  }

  #lose(slot: Slot, reason: string): void {
    if (slot.done) return;
    this.#drop(slot);
    const error = new LeaseLostError({ key: this.#o.provider, token: slot.token ?? 0, reason });
    for (const l of slot.listeners) {
      try { l(error); } catch (err) { this.#o.logger.error({ err: String(err) }, 'slot lost listener threw'); }
    }
  }
}

/** The gate for one provider account; see LeaseGate. */
export function createLeaseGate(options: LeaseGateOptions): LeaseGate {
  return new LeaseGate(options);
}
