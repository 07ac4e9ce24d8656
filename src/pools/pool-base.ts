import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { ConnectionLostError, KeepaliveTimeoutError, PoolClosedError, PoolExhaustedError, PoolOptionsError } from './errors.js';
import { LatencyWindow } from './latency-window.js';
import { Lease, type LeaseOwner } from './lease.js';
import { RingQueue } from './ring-queue.js';
import { isPermanentOpenError, unlimitedGate, type CapacityGate, type CapacitySlot, type ConnectionFactory, type PooledConnection } from './types.js';

/** The few logger methods a pool uses; pino's Logger fits. */
export interface PoolLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const silentLogger: PoolLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface BackoffOptions {
  /** First retry delay after a failed open. Default 250. */
  initialMs: number;
  /** Longest retry delay; permanent errors (a rejected key) wait this long. Default 30000. */
  maxMs: number;
  /** Growth per consecutive failure. Default 2. */
  factor: number;
}

export interface PoolOptions<C extends PooledConnection> {
  /** Name in logs and metrics, e.g. `asr`. */
  name: string;
  factory: ConnectionFactory<C>;
  /** Warm floor: opened at start and always kept. */
  min: number;
  /** Most connections ever held. */
  max: number;
  /** Target = peak concurrency × (1 + headroom). Default 0.25. */
  headroom?: number;
  /** How long acquire() waits when nothing is free. Default 2000. */
  acquireTimeoutMs?: number;
  /** Connections older than this are replaced (±10 % jitter). Default 1 h. */
  maxAgeMs?: number;
  /** Out-of-band keepalive interval on idle connections; 0 = off. Default 0. */
  keepaliveMs?: number;
  /** A keepalive that takes longer fails. Default 2000. */
  keepaliveTimeoutMs?: number;
  /** Window over which peak concurrency is observed. Default 60000. */
  sizingWindowMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** Provider concurrency cap: one slot per open connection. Default unlimited. */
  gate?: CapacityGate;
  logger?: PoolLogger;
  /** How long close() waits for leases to come back before destroying. Default 5000. */
  closeGraceMs?: number;
  /** How often acquisition p95 is checked against SLOW_ACQUIRE_P95_MS. Default 5000. */
  slowCheckMs?: number;
}

export type PoolState = 'idle' | 'warming' | 'ready' | 'degraded' | 'failed' | 'closing' | 'closed';

export interface PoolStats {
  name: string;
  upstream: string;
  key: string;
  state: PoolState;
  ready: boolean;
  min: number;
  max: number;
  target: number;
  /** Open connections. */
  size: number;
  /** Connections that carry no lease. */
  idle: number;
  /** Leases out. */
  inUse: number;
  /** Lease capacity of the open connections. */
  capacity: number;
  /** acquire() calls waiting. */
  pending: number;
  /** Opens in progress. */
  opening: number;
  /** The provider's cap (across replicas) refused this pool its last slot. */
  capped: boolean;
  opens: number;
  closes: number;
  replacements: number;
  openFailures: number;
  keepaliveFailures: number;
  exhausted: number;
  acquisitions: number;
  acquireP50Ms: number;
  acquireP95Ms: number;
  acquireP99Ms: number;
  /** p95 over the window above SLOW_ACQUIRE_P95_MS. */
  acquireSlow: boolean;
  lastError?: string;
}

export interface PoolEvents {
  /** A connection opened (warm-up progress). */
  open: [stats: { size: number; min: number }];
  /** A connection left the pool; `cause` when it was not the pool's choice. */
  close: [info: { connection: string; cause?: Error }];
  /** The floor was reached. */
  ready: [];
  state: [state: PoolState];
  exhausted: [error: Error];
  'keepalive-failed': [error: Error];
  'open-failed': [error: Error];
}

/** One open connection and the pool's bookkeeping about it. */
export interface PoolEntry<C extends PooledConnection> {
  readonly conn: C;
  readonly slot: CapacitySlot;
  readonly leases: Set<Lease<C>>;
  /** Leases out plus leases being reset. */
  busy: number;
  readonly openedAt: number;
  readonly retireAt: number;
  lastKeepaliveAt: number;
  keepaliveInFlight: boolean;
  /** Leaving the pool: handed to no one. */
  retiring: boolean;
  idleSince: number;
  onClose: (cause?: Error) => void;
}

interface Waiter<C extends PooledConnection> {
  readonly startedAt: number;
  resolve(lease: Lease<C>): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
  settled: boolean;
  abort?: () => void;
}

function check(pool: string, option: string, value: unknown, ok: boolean, expected: string): void {
  if (!ok) throw new PoolOptionsError({ pool, option, value, expected });
}

const PEAK_BUCKETS = 12;

/** A warm acquire is microseconds; a p95 above this means callers are waiting for opens. */
export const SLOW_ACQUIRE_P95_MS = 5;


/**
 * The pool engine: warm floor, sizing, keepalive, health, backoff, waiting.
 * Subclasses decide only which connection serves the next lease (`pick`), as
 * undici's Pool and RoundRobinPool differ only in kGetDispatcher.
 *
 * Nothing here runs in an acquirer's path but the pick: opening, replacing,
 * resizing and keepalive all run from `#maintain()`, scheduled with
 * setImmediate or the maintenance timer.
 */
export abstract class PoolBase<C extends PooledConnection> extends EventEmitter<PoolEvents> implements LeaseOwner<C> {
  readonly name: string;
  readonly factory: ConnectionFactory<C>;
  readonly min: number;
  readonly max: number;
  protected readonly entries: PoolEntry<C>[] = [];

  readonly #headroom: number;
  readonly #acquireTimeoutMs: number;
  readonly #maxAgeMs: number;
  readonly #keepaliveMs: number;
  readonly #keepaliveTimeoutMs: number;
  readonly #sizingWindowMs: number;
  readonly #backoff: BackoffOptions;
  readonly #gate: CapacityGate;
  readonly #log: PoolLogger;
  readonly #closeGraceMs: number;
  readonly #slowCheckMs: number;

  readonly #waiters = new RingQueue<Waiter<C>>();
  #pendingWaiters = 0;
  readonly #latency = new LatencyWindow();
  readonly #peaks = new Array<number>(PEAK_BUCKETS).fill(0);
  #peakBucket = 0;
  #peakBucketStart = 0;

  #state: PoolState = 'idle';
  #opening = 0;
  #inUse = 0;
  #capacityHint = 1;
  #failures = 0;
  #nextOpenAt = 0;
  #pendingReplacements = 0;
  #leaseSeq = 0;
  readonly #leasePrefix = randomBytes(4).toString('hex');
  #lastError: Error | undefined;
  #reachedFloor = false;
  /** The last open attempt found no capacity slot (the provider cap is full across replicas). */
  #capped = false;
  #readyWaiters: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  readonly #openAborts = new Set<AbortController>();
  readonly #leaseEntry = new WeakMap<Lease<C>, PoolEntry<C>>();

  #acquireSlow = false;
  #lastSlowCheck = 0;
  #acquisitionsAtSlowCheck = 0;

  #opens = 0;
  #closes = 0;
  #replacements = 0;
  #openFailures = 0;
  #keepaliveFailures = 0;
  #exhausted = 0;
  #acquisitions = 0;

  constructor(options: PoolOptions<C>) {
    super();
    const n = options.name;
    check(n, 'name', n, typeof n === 'string' && n.length > 0, 'a non-empty string');
    check(n, 'min', options.min, Number.isInteger(options.min) && options.min >= 0, 'an integer >= 0');
    check(n, 'max', options.max, Number.isInteger(options.max) && options.max >= 1, 'an integer >= 1');
    check(n, 'min', options.min, options.min <= options.max, `at most max (${options.max})`);
    const headroom = options.headroom ?? 0.25;
    check(n, 'headroom', headroom, Number.isFinite(headroom) && headroom >= 0, 'a number >= 0');
    const acquireTimeoutMs = options.acquireTimeoutMs ?? 2000;
    check(n, 'acquireTimeoutMs', acquireTimeoutMs, acquireTimeoutMs > 0, 'a number > 0');
    const keepaliveMs = options.keepaliveMs ?? 0;
    check(n, 'keepaliveMs', keepaliveMs, keepaliveMs >= 0, 'a number >= 0 (0 = off)');
    this.name = n;
    this.factory = options.factory;
    this.min = options.min;
    this.max = options.max;
    this.#headroom = headroom;
    this.#acquireTimeoutMs = acquireTimeoutMs;
    this.#maxAgeMs = options.maxAgeMs ?? 3_600_000;
    this.#keepaliveMs = keepaliveMs;
    this.#keepaliveTimeoutMs = options.keepaliveTimeoutMs ?? 2000;
    this.#sizingWindowMs = options.sizingWindowMs ?? 60_000;
    this.#backoff = { initialMs: 250, maxMs: 30_000, factor: 2, ...options.backoff };
    check(n, 'backoff.initialMs', this.#backoff.initialMs, this.#backoff.initialMs > 0, 'a number > 0');
    check(n, 'backoff.maxMs', this.#backoff.maxMs, this.#backoff.maxMs >= this.#backoff.initialMs, 'at least backoff.initialMs');
    this.#gate = options.gate ?? unlimitedGate;
    this.#log = options.logger ?? silentLogger;
    this.#closeGraceMs = options.closeGraceMs ?? 5000;
    this.#slowCheckMs = options.slowCheckMs ?? 5000;
  }

  /** Chooses the connection for the next lease, or undefined when none has room. */
  protected abstract pick(): PoolEntry<C> | undefined;

  get state(): PoolState {
    return this.#state;
  }

  /** True while the warm floor is open. */
  get ready(): boolean {
    return this.#reachedFloor && this.#floorMet();
  }

  /**
   * The floor, or as much of it as the provider's cap lets this replica hold:
   * a replica whose share of the cap is below its floor still takes calls
   * with what it has, rather than never becoming ready.
   */
  #floorMet(): boolean {
    const open = this.#openCount();
    return open >= this.min || (this.#capped && open > 0);
  }

  /** Starts warming; resolves at once (use whenReady() to wait for the floor). */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#setState('warming');
    this.#peakBucketStart = performance.now();
    // The maintenance tick must run often enough to keep every connection's keepalive on time.
    const tick = this.#keepaliveMs > 0 ? Math.max(10, Math.min(1000, this.#keepaliveMs / 4)) : 1000;
    this.#timer = setInterval(() => this.#maintain(), tick);
    this.#timer.unref();
    this.#maintain();
    // A floor of 0 is reached before anything opens: such a pool is ready (and readyz with it) at once.
    this.#updateReadiness();
  }

  /** Resolves when the warm floor is open (at once if it is). */
  whenReady(): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.#state === 'closed' || this.#state === 'closing') return Promise.reject(new PoolClosedError({ pool: this.name }));
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /**
   * A lease on a warm connection. From an idle connection this does no I/O and
   * resolves at once; otherwise it waits (FIFO) up to acquireTimeoutMs while
   * the pool grows, then fails with WL_ERR_POOL_EXHAUSTED.
   */
  acquire(options?: { signal?: AbortSignal }): Promise<Lease<C>> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new PoolClosedError({ pool: this.name }));
    const startedAt = performance.now();
    if (this.#pendingWaiters === 0) {
      const entry = this.pick();
      if (entry) return Promise.resolve(this.#grant(entry, startedAt, false));
    }
    return this.#wait(startedAt, options?.signal);
  }

  #wait(startedAt: number, signal: AbortSignal | undefined): Promise<Lease<C>> {
    return new Promise<Lease<C>>((resolve, reject) => {
      const waiter: Waiter<C> = { startedAt, resolve, reject, timer: undefined, settled: false };
      waiter.timer = setTimeout(() => {
        if (waiter.settled) return;
        this.#settle(waiter);
        this.#exhausted++;
        const err = new PoolExhaustedError({ pool: this.name, waitedMs: performance.now() - startedAt, size: this.#openCount(), max: this.max, pending: this.#pendingWaiters });
        this.#log.warn({ pool: this.name, err }, 'pool exhausted');
        this.emit('exhausted', err);
        reject(err);
      }, this.#acquireTimeoutMs);
      if (signal) {
        if (signal.aborted) {
          this.#settleAndClear(waiter);
          reject(signal.reason instanceof Error ? signal.reason : new Error('acquire aborted'));
          return;
        }
        const onAbort = () => {
          if (waiter.settled) return;
          this.#settleAndClear(waiter);
          reject(signal.reason instanceof Error ? signal.reason : new Error('acquire aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        waiter.abort = () => signal.removeEventListener('abort', onAbort);
      }
      this.#waiters.push(waiter);
      this.#pendingWaiters++;
      this.#schedule();
    });
  }

  #settle(w: Waiter<C>): void {
    w.settled = true;
    this.#pendingWaiters--;
    w.abort?.();
  }

  #settleAndClear(w: Waiter<C>): void {
    this.#settle(w);
    if (w.timer) clearTimeout(w.timer);
  }

  #grant(entry: PoolEntry<C>, startedAt: number, waited: boolean): Lease<C> {
    entry.busy++;
    this.#inUse++;
    this.#acquisitions++;
    const ms = performance.now() - startedAt;
    this.#latency.record(ms);
    this.#notePeak();
    const lease = new Lease<C>(this, `${this.#leasePrefix}-${++this.#leaseSeq}`, entry.conn, ms, waited);
    entry.leases.add(lease);
    this.#leaseEntry.set(lease, entry);
    // Growth is decided from the new concurrency, off the acquirer's path.
    if (entry.busy >= entry.conn.capacity) this.#schedule();
    return lease;
  }

  #notePeak(): void {
    const v = this.#inUse + this.#pendingWaiters;
    if (v > this.#peaks[this.#peakBucket]!) this.#peaks[this.#peakBucket] = v;
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
      this.#log.debug({ pool: this.name, connection: entry.conn.id, err }, 'connection not clean after use: replacing');
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
    while (this.#pendingWaiters > 0) {
      const w = this.#waiters.peek();
      if (!w) break;
      if (w.settled) {
        this.#waiters.shift();
        continue;
      }
      const entry = this.pick();
      if (!entry) break;
      this.#waiters.shift();
      this.#settleAndClear(w);
      w.resolve(this.#grant(entry, w.startedAt, true));
    }
    // drop settled waiters at the head so the queue does not hold them
    while (this.#waiters.peek()?.settled) this.#waiters.shift();
  }

  /** Removes an entry; `replace` asks for a successor in the background. */
  #evict(entry: PoolEntry<C>, cause: Error | undefined, replace: boolean): void {
    const i = this.entries.indexOf(entry);
    if (i < 0) return;
    this.entries.splice(i, 1);
    entry.conn.off('close', entry.onClose);
    entry.slot.release();
    this.#closes++;
    if (replace) this.#pendingReplacements++;
    const lost = cause ?? new Error('connection retired');
    for (const lease of entry.leases) {
      this.#inUse--;
      lease.lose(new ConnectionLostError({ pool: this.name, connection: entry.conn.id, reason: lost.message }, { cause: lost }));
    }
    entry.leases.clear();
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

  /** Target size: peak concurrency over the window plus headroom, in connections, within [min, max]. */
  #target(): number {
    let peak = 0;
    for (const p of this.#peaks) if (p > peak) peak = p;
    const wanted = Math.ceil((peak * (1 + this.#headroom)) / this.#capacityHint);
    return Math.min(this.max, Math.max(this.min, wanted));
  }

  #rotatePeaks(now: number): void {
    const bucketMs = this.#sizingWindowMs / PEAK_BUCKETS;
    while (now - this.#peakBucketStart >= bucketMs) {
      this.#peakBucketStart += bucketMs;
      this.#peakBucket = (this.#peakBucket + 1) % PEAK_BUCKETS;
      this.#peaks[this.#peakBucket] = this.#inUse + this.#pendingWaiters;
    }
  }

  #schedule(): void {
    if (this.#immediate || this.#state === 'idle' || this.#state === 'closed') return;
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      this.#maintain();
    });
  }

  /** The one place that opens, retires, shrinks and keeps alive. */
  #maintain(): void {
    if (this.#state === 'closed' || this.#state === 'closing' || this.#state === 'idle') return;
    const now = performance.now();
    this.#rotatePeaks(now);
    this.#notePeak();

    for (const e of [...this.entries]) {
      if (!e.conn.usable) {
        this.#evict(e, new Error('connection no longer usable'), true);
        continue;
      }
      if (!e.retiring && now >= e.retireAt) {
        e.retiring = true;
        this.#pendingReplacements++;
        if (e.busy === 0) this.#evict(e, undefined, false);
        continue;
      }
      this.#keepalive(e, now);
    }

    // Grow: to the target, and beyond it while acquirers wait.
    const open = this.#openCount();
    let target = this.#target();
    if (this.#pendingWaiters > 0) target = Math.min(this.max, Math.max(target, open + Math.ceil(this.#pendingWaiters / this.#capacityHint)));
    const deficit = target - open - this.#opening;
    if (deficit > 0 && now >= this.#nextOpenAt) {
      // After a failure, probe with one open at a time instead of a burst.
      const burst = this.#failures > 0 ? (this.#opening > 0 ? 0 : 1) : deficit;
      // #openOne handles an open's failure itself; what is left (a throwing listener) is logged, never unhandled.
      for (let i = 0; i < burst; i++) this.#openOne().catch((err: unknown) => this.#log.error({ pool: this.name, err }, 'opening a connection failed unexpectedly'));
    }

    this.#checkSlow(now);

    // Shrink slowly: one idle surplus connection per tick, idle for a full window.
    if (open > target && this.#pendingWaiters === 0) {
      const victim = this.entries.find((e) => !e.retiring && e.busy === 0 && now - e.idleSince >= this.#sizingWindowMs);
      if (victim) {
        this.#log.debug({ pool: this.name, connection: victim.conn.id, open, target }, 'shrinking surplus idle connection');
        this.#evict(victim, undefined, false);
      }
    }
  }

  /** Warns (once per change) when acquisition p95 over the window passes SLOW_ACQUIRE_P95_MS. */
  #checkSlow(now: number): void {
    if (now - this.#lastSlowCheck < this.#slowCheckMs || this.#acquisitions === this.#acquisitionsAtSlowCheck) return;
    this.#lastSlowCheck = now;
    this.#acquisitionsAtSlowCheck = this.#acquisitions;
    const slow = this.#latency.percentiles().p95 > SLOW_ACQUIRE_P95_MS;
    if (slow && !this.#acquireSlow) this.#log.warn({ pool: this.name, p95Ms: this.#latency.percentiles().p95 }, `acquisition p95 above ${SLOW_ACQUIRE_P95_MS} ms: the pool is too small for its load`);
    this.#acquireSlow = slow;
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
    if (closed) this.#log.info({ pool: this.name, closed }, 'closed idle connections so other replicas can have their slots');
    return closed;
  }

  /** Feeds `each` the acquisition latencies recorded since `cursor`; returns the next cursor (metrics). */
  acquireSamplesSince(cursor: number, each: (ms: number) => void): number {
    return this.#latency.since(cursor, each);
  }

  #keepalive(e: PoolEntry<C>, now: number): void {
    if (this.#keepaliveMs === 0 || e.keepaliveInFlight || now - e.lastKeepaliveAt < this.#keepaliveMs) return;
    // Exclusive connections in use are kept alive by their lessee's traffic (and the connector).
    if (e.busy > 0 && e.conn.capacity === 1) return;
    e.keepaliveInFlight = true;
    e.lastKeepaliveAt = now;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KeepaliveTimeoutError({ pool: this.name, connection: e.conn.id, timeoutMs: this.#keepaliveTimeoutMs })), this.#keepaliveTimeoutMs);
    });
    Promise.race([e.conn.keepalive(), timeout]).then(
      () => {
        clearTimeout(timer);
        e.keepaliveInFlight = false;
      },
      (err: unknown) => {
        clearTimeout(timer);
        e.keepaliveInFlight = false;
        if (!this.entries.includes(e)) return;
        this.#keepaliveFailures++;
        const error = err instanceof Error ? err : new Error(String(err));
        this.#log.warn({ pool: this.name, connection: e.conn.id, err: error }, 'keepalive failed: replacing connection');
        this.emit('keepalive-failed', error);
        this.#evict(e, error, true);
      },
    );
  }

  async #openOne(): Promise<void> {
    this.#opening++;
    const abort = new AbortController();
    this.#openAborts.add(abort);
    let slot: CapacitySlot | undefined;
    try {
      slot = await this.#gate.tryTake(abort.signal);
      if (!slot) {
        // The provider's cap is reached across replicas: try again later, without a storm.
        this.#nextOpenAt = performance.now() + Math.min(this.#backoff.maxMs, 1000);
        if (!this.#capped) {
          this.#capped = true;
          this.#log.info({ pool: this.name, open: this.#openCount(), min: this.min }, "the provider's concurrency cap is reached: holding fewer connections than wanted");
          this.#updateReadiness();
        }
        return;
      }
      this.#capped = false;
      const conn = await this.factory.open(abort.signal);
      if (this.#state === 'closing' || this.#state === 'closed') {
        conn.destroy();
        slot.release();
        return;
      }
      this.#adopt(conn, slot);
    } catch (err) {
      slot?.release();
      if (this.#state === 'closing' || this.#state === 'closed') return;
      this.#openFailed(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#opening--;
      this.#openAborts.delete(abort);
      this.#schedule();
    }
  }

  #adopt(conn: C, slot: CapacitySlot): void {
    const now = performance.now();
    // ±10 % jitter so that connections opened together do not all retire together.
    const age = this.#maxAgeMs * (0.9 + Math.random() * 0.2);
    const entry: PoolEntry<C> = {
      conn, slot, leases: new Set(), busy: 0, openedAt: now, retireAt: now + age,
      lastKeepaliveAt: now, keepaliveInFlight: false, retiring: false, idleSince: now,
      onClose: (cause?: Error) => {
        if (!this.entries.includes(entry)) return;
        this.#log.info({ pool: this.name, connection: conn.id, cause: cause?.message }, 'connection closed by peer: replacing in background');
        this.#evict(entry, cause ?? new Error('connection closed'), true);
      },
    };
    conn.on('close', entry.onClose);
    slot.onLost((reason) => {
      if (!this.entries.includes(entry)) return;
      this.#log.warn({ pool: this.name, connection: conn.id, reason: reason.message }, 'capacity slot lost: closing connection');
      this.#evict(entry, reason, false);
    });
    this.entries.push(entry);
    this.#capacityHint = Math.max(1, conn.capacity);
    this.#opens++;
    if (this.#pendingReplacements > 0) {
      this.#pendingReplacements--;
      this.#replacements++;
    }
    if (this.#failures > 0 || this.#state === 'failed') {
      this.#log.info({ pool: this.name, after: this.#failures }, 'upstream reachable again');
    }
    this.#failures = 0;
    this.#nextOpenAt = 0;
    this.emit('open', { size: this.#openCount(), min: this.min });
    this.#updateReadiness();
    this.#dispatch();
  }

  #openFailed(err: Error): void {
    this.#failures++;
    this.#openFailures++;
    this.#lastError = err;
    this.emit('open-failed', err);
    if (isPermanentOpenError(err)) {
      // A rejected key will not fix itself: say so once, then try rarely.
      if (this.#state !== 'failed') this.#log.error({ pool: this.name, err }, 'upstream rejected the connection; retrying at the longest interval');
      this.#setState('failed');
      this.#nextOpenAt = performance.now() + this.#backoff.maxMs;
      return;
    }
    // Full jitter (AWS architecture blog): uniform in [0, min(max, initial × factor^(n-1))].
    const ceiling = Math.min(this.#backoff.maxMs, this.#backoff.initialMs * this.#backoff.factor ** (this.#failures - 1));
    const delay = Math.max(1, Math.random() * ceiling);
    this.#nextOpenAt = performance.now() + delay;
    const log = this.#failures === 1 ? 'warn' : 'debug';
    this.#log[log]({ pool: this.name, err, failures: this.#failures, retryInMs: Math.round(delay) }, 'opening an upstream connection failed');
    this.#updateReadiness();
  }

  #updateReadiness(): void {
    if (this.#floorMet()) {
      if (!this.#reachedFloor) {
        this.#reachedFloor = true;
        this.emit('ready');
      }
      const waiters = this.#readyWaiters;
      this.#readyWaiters = [];
      for (const w of waiters) w();
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
    let idle = 0;
    let capacity = 0;
    for (const e of this.entries) {
      if (e.busy === 0) idle++;
      capacity += e.conn.capacity;
    }
    const p = this.#latency.percentiles();
    const s: PoolStats = {
      name: this.name, upstream: this.factory.upstream, key: this.factory.key, state: this.#state, ready: this.ready,
      capped: this.#capped, min: this.min, max: this.max, target: this.#target(), size: this.entries.length, idle, inUse: this.#inUse, capacity,
      pending: this.#pendingWaiters, opening: this.#opening, opens: this.#opens, closes: this.#closes,
      replacements: this.#replacements, openFailures: this.#openFailures, keepaliveFailures: this.#keepaliveFailures,
      exhausted: this.#exhausted, acquisitions: this.#acquisitions,
      acquireP50Ms: p.p50, acquireP95Ms: p.p95, acquireP99Ms: p.p99, acquireSlow: this.#acquireSlow,
    };
    if (this.#lastError) s.lastError = this.#lastError.message;
    return s;
  }

  #stopTimers(): void {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = undefined;
    this.#immediate = undefined;
  }

  #failWaiters(): void {
    for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) {
      if (w.settled) continue;
      this.#settleAndClear(w);
      w.reject(new PoolClosedError({ pool: this.name }));
    }
  }

  /** Graceful: no new leases, waits up to closeGraceMs for leases to return, then closes every connection. */
  async close(): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'closing') return;
    this.#setState('closing');
    this.#stopTimers();
    this.#failWaiters();
    for (const a of this.#openAborts) a.abort(new PoolClosedError({ pool: this.name }));
    const deadline = performance.now() + this.#closeGraceMs;
    while (this.entries.some((e) => e.busy > 0) && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    await Promise.all(this.entries.map(async (e) => {
      e.conn.off('close', e.onClose);
      e.slot.release();
      for (const lease of e.leases) lease.lose(new PoolClosedError({ pool: this.name }));
      e.leases.clear();
      await e.conn.close().catch(() => e.conn.destroy());
    }));
    this.#closes += this.entries.length;
    this.entries.length = 0;
    this.#inUse = 0;
    this.#setState('closed');
  }

  /** Immediate: every connection destroyed, every waiter and lessee told. Idempotent. */
  destroy(reason: Error = new PoolClosedError({ pool: this.name })): void {
    if (this.#state === 'closed') return;
    this.#setState('closing');
    this.#stopTimers();
    this.#failWaiters();
    for (const a of this.#openAborts) a.abort(reason);
    for (const e of this.entries) {
      e.conn.off('close', e.onClose);
      e.slot.release();
      for (const lease of e.leases) lease.lose(reason);
      e.leases.clear();
      e.conn.destroy(reason);
    }
    this.#closes += this.entries.length;
    this.entries.length = 0;
    this.#inUse = 0;
    this.#setState('closed');
  }
}
