import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ConnectionLostError, KeepaliveTimeoutError, PoolClosedError, PoolExhaustedError } from './errors.js';
import { LatencyWindow } from './latency-window.js';
import { Lease, type LeaseOwner } from './lease.js';
import { keepalive, keepaliveDue, MaintenanceClock, Smoothed } from './maintenance.js';
import { Opener } from './opener.js';
import { createEntry, detach, type PoolEntry } from './pool-entry.js';
import { checkFloor, resolvePoolOptions, type PoolOptions, type ResolvedPoolOptions } from './pool-options.js';
import { PoolCounters, snapshot, type PoolEvents, type PoolState, type PoolStats } from './pool-stats.js';
import { growTarget, openBurst, PeakWindow, shrinkCandidate, targetSize } from './sizing.js';
import { floorMet, FloorWatch } from './readiness.js';
import { SlowAcquireCheck } from './slow-acquire.js';
import type { CapacitySlot, ConnectionFactory, PooledConnection } from './types.js';
import { WaitQueue } from './wait-queue.js';

export type { PoolEntry } from './pool-entry.js';
export type { PoolEvents } from './pool-stats.js';

/**
 * The pool engine's contract: the entries, the leases on them, the waiters, the state and the
 * counters. Subclasses decide only which connection serves the next lease (`pick`), as undici's
 * Pool and RoundRobinPool differ only in kGetDispatcher. The jobs around it each have a file:
 * option checks (pool-options.ts), waiters (wait-queue.ts), sizing (sizing.ts), the maintenance
 * clock and keepalive (maintenance.ts), opening with backoff through the capacity gate
 * (opener.ts), slow-acquire detection (slow-acquire.ts) and the stats (pool-stats.ts).
 *
 * Nothing here runs in an acquirer's path but the pick: opening, replacing, resizing and
 * keepalive all run from `#maintain()`, on the maintenance clock.
 */
export abstract class PoolBase<C extends PooledConnection> extends EventEmitter<PoolEvents> implements LeaseOwner<C> {
  readonly name: string;
  readonly factory: ConnectionFactory<C>;
  #min: number;
  readonly max: number;
  protected readonly entries: PoolEntry<C>[] = [];

  readonly #o: ResolvedPoolOptions<C>;
  readonly #waiters = new WaitQueue<Lease<C>>();
  readonly #latency = new LatencyWindow();
  readonly #peaks: PeakWindow;
  readonly #clock = new MaintenanceClock(() => this.#maintain());
  readonly #opener: Opener<C>;
  readonly #slow: SlowAcquireCheck;
  readonly #count = new PoolCounters();

  #state: PoolState = 'idle';
  #inUse = 0;
  #capacityHint = 1;
  #leaseSeq = 0;
  readonly #rtt = new Smoothed();
  readonly #leasePrefix = randomBytes(4).toString('hex');
  readonly #floor = new FloorWatch();
  readonly #leaseEntry = new WeakMap<Lease<C>, PoolEntry<C>>();

  /** The warm floor: connections kept open with no call on them. */
  get min(): number { return this.#min; }

  /** Changes the warm floor at run time (an ops action): the pool grows to it, or sheds idle surplus as usual. */
  setFloor(min: number): void {
    checkFloor(this.name, min, this.max);
    this.#min = min;
    this.#schedule();
  }

  constructor(options: PoolOptions<C>) {
    super();
    const o = resolvePoolOptions(options);
    this.#o = o;
    this.name = o.name;
    this.factory = o.factory;
    this.#min = o.min;
    this.max = o.max;
    this.#peaks = new PeakWindow(o.sizingWindowMs);
    this.#slow = new SlowAcquireCheck(o.name, o.slowCheckMs, o.logger);
    const pool = this;
    this.#opener = new Opener<C>({
      pool: o.name, factory: o.factory, gate: o.gate, backoff: o.backoff, log: o.logger,
      host: {
        get closing() { return pool.#state === 'closing' || pool.#state === 'closed'; },
        adopt: (conn, slot) => this.#adopt(conn, slot),
        capReached: () => this.#updateReadiness(),
        openFailed: (err, permanent) => this.#openFailed(err, permanent),
        attemptDone: () => this.#schedule(),
      },
    });
  }

  /** Chooses the connection for the next lease, or undefined when none has room. */
  protected abstract pick(): PoolEntry<C> | undefined;

  get state(): PoolState {
    return this.#state;
  }

  /** True while the warm floor is open. */
  get ready(): boolean {
    return this.#floor.reached && floorMet(this.#openCount(), this.min, this.#opener.capped);
  }

  /** Starts warming; resolves at once (use whenReady() to wait for the floor). */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#setState('warming');
    this.#peaks.start(performance.now());
    this.#clock.start(this.#o.keepaliveMs);
    this.#maintain();
    // A floor of 0 is reached before anything opens: such a pool is ready (and readyz with it) at once.
    this.#updateReadiness();
  }

  /** Resolves when the warm floor is open (at once if it is). */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.#state === 'closed' || this.#state === 'closing') return Promise.reject(new PoolClosedError({ pool: this.name }));
    return this.#floor.wait();
  }

  /**
   * A lease on a warm connection. From an idle connection this does no I/O and
   * resolves at once; otherwise it waits (FIFO) up to acquireTimeoutMs while
   * the pool grows, then fails with WL_ERR_POOL_EXHAUSTED.
   */
  acquire(options?: { signal?: AbortSignal }): Promise<Lease<C>> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new PoolClosedError({ pool: this.name }));
    const startedAt = performance.now();
    if (this.#waiters.pending === 0) {
      const entry = this.pick();
      if (entry) return Promise.resolve(this.#grant(entry, startedAt, false));
    }
    const lease = this.#waiters.wait(startedAt, this.#o.acquireTimeoutMs, options?.signal, (waitedMs) => {
      this.#count.exhausted++;
      const err = new PoolExhaustedError({ pool: this.name, waitedMs, size: this.#openCount(), max: this.max, pending: this.#waiters.pending });
      this.#o.logger.warn({ pool: this.name, err }, 'pool exhausted');
      this.emit('exhausted', err);
      return err;
    });
    this.#schedule();
    return lease;
  }

  #grant(entry: PoolEntry<C>, startedAt: number, waited: boolean): Lease<C> {
    entry.busy++;
    this.#inUse++;
    this.#count.acquisitions++;
    const ms = performance.now() - startedAt;
    this.#latency.record(ms);
    this.#peaks.note(this.#inUse + this.#waiters.pending);
    const lease = new Lease<C>(this, `${this.#leasePrefix}-${++this.#leaseSeq}`, entry.conn, ms, waited);
    entry.leases.add(lease);
    this.#leaseEntry.set(lease, entry);
    // Growth is decided from the new concurrency, off the acquirer's path.
    if (entry.busy >= entry.conn.capacity) this.#schedule();
    return lease;
  }

  releaseLease(lease: Lease<C>): void {
    const entry = this.#entryOf(lease);
    if (!entry) return;
    entry.leases.delete(lease);
    this.#inUse--;
    // The connection stays busy until the connector says it is clean.
    lease.conn.reset(lease.id).then(
      (clean) => this.#afterReset(entry, clean, undefined),
      (err: unknown) => this.#afterReset(entry, false, err instanceof Error ? err : new Error(String(err))),
    );
  }

  destroyLease(lease: Lease<C>, reason?: Error): void {
    const entry = this.#entryOf(lease);
    if (!entry) return;
    entry.leases.delete(lease);
    this.#inUse--;
    entry.busy--;
    this.#evict(entry, reason ?? new Error('destroyed by its lessee'), true);
  }

  #entryOf(lease: Lease<C>): PoolEntry<C> | undefined {
    const e = this.#leaseEntry.get(lease);
    return e && e.leases.has(lease) ? e : undefined;
  }

  #afterReset(entry: PoolEntry<C>, clean: boolean, err: Error | undefined): void {
    entry.busy--;
    if (!this.entries.includes(entry)) return; // it closed meanwhile
    if (!clean || !entry.conn.usable) {
      this.#o.logger.debug({ pool: this.name, connection: entry.conn.id, err }, 'connection not clean after use: replacing');
      this.#evict(entry, err, true);
      return;
    }
    if (entry.busy === 0) entry.idleSince = performance.now();
    if (entry.retiring && entry.busy === 0) {
      this.#evict(entry, undefined, true);
      return;
    }
    this.#dispatch();
  }

  /** Hands free connections to waiting acquirers, oldest first. */
  #dispatch(): void {
    this.#waiters.serve(() => this.pick(), (entry, startedAt) => this.#grant(entry, startedAt, true));
  }

  /** Removes an entry; `replace` asks for a successor in the background. */
  #evict(entry: PoolEntry<C>, cause: Error | undefined, replace: boolean): void {
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.entries.splice(i, 1);
    this.#count.closes++;
    if (replace) this.#count.pendingReplacements++;
    const lost = cause ?? new Error('connection retired');
    this.#inUse -= entry.leases.size;
    detach(entry, () => new ConnectionLostError({ pool: this.name, connection: entry.conn.id, reason: lost.message }, { cause: lost }));
    if (cause) entry.conn.destroy(cause);
    else entry.conn.close().catch(() => entry.conn.destroy());
    this.emit('close', cause ? { connection: entry.conn.id, cause } : { connection: entry.conn.id });
    this.#updateReadiness();
    this.#schedule();
  }

  #openCount(): number {
    let n = 0;
    for (const e of this.entries) if (!e.retiring) n++;
    return n;
  }

  #target(): number {
    return targetSize(this.#peaks.peak(), this.#o.headroom, this.#capacityHint, this.min, this.max);
  }

  #schedule(): void {
    if (this.#state === 'idle' || this.#state === 'closed') return;
    this.#clock.schedule();
  }

  /** The one place that opens, retires, shrinks and keeps alive. */
  #maintain(): void {
    if (this.#state === 'closed' || this.#state === 'closing' || this.#state === 'idle') return;
    const now = performance.now();
    const pending = this.#waiters.pending;
    this.#peaks.rotate(now, this.#inUse + pending);
    this.#peaks.note(this.#inUse + pending);

    for (const e of [...this.entries]) {
      if (!e.conn.usable) {
        this.#evict(e, new Error('connection no longer usable'), true);
        continue;
      }
      if (!e.retiring && now >= e.retireAt) {
        e.retiring = true;
        this.#count.pendingReplacements++;
        if (e.busy === 0) this.#evict(e, undefined, false);
        continue;
      }
      if (!keepaliveDue(e, now, this.#o.keepaliveMs)) continue;
      const { keepaliveTimeoutMs: timeoutMs } = this.#o;
      keepalive(e, now, timeoutMs, () => new KeepaliveTimeoutError({ pool: this.name, connection: e.conn.id, timeoutMs }), (err) => this.#keepaliveFailed(e, err), (ms) => this.#rtt.add(ms));
    }

    const open = this.#openCount();
    const target = growTarget(this.#target(), open, pending, this.#capacityHint, this.max);
    if (this.#opener.mayOpen(now)) {
      const burst = openBurst(target - open - this.#opener.opening, this.#opener.failures, this.#opener.opening);
      for (let i = 0; i < burst; i++) this.#opener.open();
    }

    this.#slow.check(now, this.#count.acquisitions, this.#latency);

    const victim = open > target && this.#waiters.pending === 0 ? shrinkCandidate(this.entries, now, this.#o.sizingWindowMs) : undefined;
    if (victim) {
      this.#o.logger.debug({ pool: this.name, connection: victim.conn.id, open, target }, 'shrinking surplus idle connection');
      this.#evict(victim, undefined, false);
    }
  }

  /**
   * Closes up to `count` idle connections without replacing them, giving their
   * capacity slots back: the lease gate asks this when other replicas wait for
   * slots this one only keeps warm. Returns how many it closed.
   */
  closeIdle(count: number): number {
    let closed = 0;
    for (const e of [...this.entries]) {
      if (closed >= count) break;
      if (e.retiring || e.busy !== 0) continue;
      this.#evict(e, undefined, false);
      closed++;
    }
    if (closed) this.#o.logger.info({ pool: this.name, closed }, 'closed idle connections so other replicas can have their slots');
    return closed;
  }

  /** Feeds `each` the acquisition latencies recorded since `cursor`; returns the next cursor (metrics). */
  acquireSamplesSince(cursor: number, each: (ms: number) => void): number {
    return this.#latency.since(cursor, each);
  }

  #keepaliveFailed(e: PoolEntry<C>, error: Error): void {
    if (!this.entries.includes(e)) return;
    this.#count.keepaliveFailures++;
    this.#o.logger.warn({ pool: this.name, connection: e.conn.id, err: error }, 'keepalive failed: replacing connection');
    this.emit('keepalive-failed', error);
    this.#evict(e, error, true);
  }

  #adopt(conn: C, slot: CapacitySlot): void {
    const entry = createEntry(conn, slot, this.#o.maxAgeMs, performance.now(), (en, cause) => {
      if (!this.entries.includes(en)) return;
      this.#o.logger.info({ pool: this.name, connection: conn.id, cause: cause?.message }, 'connection closed by peer: replacing in background');
      this.#evict(en, cause ?? new Error('connection closed'), true);
    });
    conn.on('close', entry.onClose);
    slot.onLost((reason) => {
      if (!this.entries.includes(entry)) return;
      this.#o.logger.warn({ pool: this.name, connection: conn.id, reason: reason.message }, 'capacity slot lost: closing connection');
      this.#evict(entry, reason, false);
    });
    this.entries.push(entry);
    this.#capacityHint = Math.max(1, conn.capacity);
    this.#count.opened();
    const failures = this.#opener.succeeded();
    if (failures > 0 || this.#state === 'failed') this.#o.logger.info({ pool: this.name, after: failures }, 'upstream reachable again');
    this.emit('open', { size: this.#openCount(), min: this.min });
    this.#updateReadiness();
    this.#dispatch();
  }

  #openFailed(err: Error, permanent: boolean): void {
    this.emit('open-failed', err);
    if (permanent) {
      // A rejected key will not fix itself: say so once (the opener retries at the longest interval).
      if (this.#state !== 'failed') this.#o.logger.error({ pool: this.name, err }, 'upstream rejected the connection; retrying at the longest interval');
      this.#setState('failed');
      return;
    }
    this.#updateReadiness();
  }

  #updateReadiness(): void {
    if (floorMet(this.#openCount(), this.min, this.#opener.capped)) {
      if (this.#floor.met()) this.emit('ready');
      if (this.#state === 'warming' || this.#state === 'degraded' || this.#state === 'failed') this.#setState('ready');
    } else if (this.#state === 'ready') {
      this.#setState('degraded');
    }
  }

  #setState(s: PoolState): void {
    if (this.#state === s) return;
    this.#state = s;
    this.emit('state', s);
  }

  stats(): PoolStats {
    const o = this.#opener;
    return snapshot({
      name: this.name, upstream: this.factory.upstream, key: this.factory.key, state: this.#state, ready: this.ready,
      capped: o.capped, capRefusals: o.capRefusals, min: this.min, max: this.max, target: this.#target(), inUse: this.#inUse, pending: this.#waiters.pending,
      opening: o.opening, openFailures: o.openFailures, failuresInARow: o.failures, lastError: o.lastError, acquireSlow: this.#slow.slow,
      ...(this.#rtt.value !== undefined && { keepaliveRttMs: this.#rtt.value }),
    }, this.entries, this.#count, this.#latency);
  }

  /** Stops maintenance, fails every waiter and aborts the opens in progress. */
  #shut(reason: Error): void {
    this.#setState('closing');
    this.#clock.stop();
    this.#waiters.failAll(() => new PoolClosedError({ pool: this.name }));
    this.#opener.abortAll(reason);
  }

  /** Takes every entry out of the pool (slots back, lessees told) and hands back their connections. */
  #takeAll(reason: () => Error): C[] {
    const conns = this.entries.map((e) => { detach(e, reason); return e.conn; });
    this.#count.closes += this.entries.length;
    this.entries.length = 0;
    this.#inUse = 0;
    return conns;
  }

  /** Graceful: no new leases, waits up to closeGraceMs for leases to return, then closes every connection. */
  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    this.#shut(new PoolClosedError({ pool: this.name }));
    const deadline = performance.now() + this.#o.closeGraceMs;
    while (this.entries.some((e) => e.busy > 0) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(this.#takeAll(() => new PoolClosedError({ pool: this.name })).map((conn) => conn.close().catch(() => conn.destroy())));
    this.#setState('closed');
  }

  /** Immediate: every connection destroyed, every waiter and lessee told. Idempotent. */
  destroy(reason: Error = new PoolClosedError({ pool: this.name })): void {
    if (this.#state === 'closed') return;
    this.#shut(reason);
    for (const conn of this.#takeAll(() => reason)) conn.destroy(reason);
    this.#setState('closed');
  }
}
