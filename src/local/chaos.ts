/**
 * Provider chaos for the local upstreams: the failures real providers and the
 * network between show, on demand, so that tests and the soak can see the
 * gateway ride them out. Every knob defaults to off.
 */
export interface ChaosOptions {
  /** Chance per second that each open connection is cut (socket destroyed, no close frame). */
  dropPerSecond?: number;
  /** Chance that a response, generation or result stream goes silent after it starts, and stays open. */
  stallRate?: number;
  /** Chance that a new request or WebSocket upgrade is answered 429 (or 503, half the time). */
  errorRate?: number;
  /** Added before the first byte of every response, generation and final result. */
  slowFirstByteMs?: number;
  /** Chance per second that the server stops accepting connections for `refuseForMs`. */
  refusePerSecond?: number;
  /** How long a refusal lasts. Default 1000. */
  refuseForMs?: number;
}

/** What chaos did, for tests and the soak to report. */
export interface ChaosCounts {
  drops: number;
  stalls: number;
  errors: number;
  refusals: number;
}

/** The listener side of chaos: what it needs from a server to cut and refuse. */
export interface ChaosTarget {
  dropOne(): boolean;
  refuseFor(ms: number): void;
}

export class Chaos {
  readonly counts: ChaosCounts = { drops: 0, stalls: 0, errors: 0, refusals: 0 };
  #o: Required<ChaosOptions>;
  #timer: NodeJS.Timeout | undefined;
  #target: ChaosTarget | undefined;
  #seed: number;
  #errorNext: Array<429 | 503> = [];
  #stallNext = 0;

  constructor(options: ChaosOptions = {}, seed = 0x5eed) {
    this.#o = Chaos.#fill(options);
    this.#seed = seed >>> 0 || 1;
  }

  static #fill(o: ChaosOptions): Required<ChaosOptions> {
    return { dropPerSecond: 0, stallRate: 0, errorRate: 0, slowFirstByteMs: 0, refusePerSecond: 0, refuseForMs: 1000, ...o };
  }

  get options(): Readonly<Required<ChaosOptions>> {
    return this.#o;
  }

  /** Replaces every knob (a test hook); `set({})` is calm. */
  set(options: ChaosOptions): void {
    this.#o = Chaos.#fill(options);
    this.#schedule();
  }

  /** Test hook: the next requests or upgrades get these statuses, whatever the rates say. */
  errorNext(...statuses: Array<429 | 503>): void {
    this.#errorNext.push(...statuses);
  }

  /** Test hook: the next `count` responses, generations or result streams stall. */
  stallNext(count = 1): void {
    this.#stallNext += count;
  }

  /** Test hook: cuts one open connection now. */
  dropOne(): boolean {
    const dropped = this.#target?.dropOne() ?? false;
    if (dropped) this.counts.drops++;
    return dropped;
  }

  /** Test hook: refuses new connections for `ms`. */
  refuseFor(ms: number): void {
    this.counts.refusals++;
    this.#target?.refuseFor(ms);
  }

  /** @internal The server whose connections chaos cuts. */
  attach(target: ChaosTarget): void {
    this.#target = target;
    this.#schedule();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** A deterministic stream (xorshift32), so that a seeded run fails the same way twice. */
  #random(): number {
    let x = this.#seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#seed = x >>> 0;
    return this.#seed / 0x1_0000_0000;
  }

  #schedule(): void {
    this.stop();
    const { dropPerSecond, refusePerSecond } = this.#o;
    if (!this.#target || (dropPerSecond <= 0 && refusePerSecond <= 0)) return;
    const tickMs = 100;
    this.#timer = setInterval(() => {
      const target = this.#target!;
      if (dropPerSecond > 0 && this.#random() < dropPerSecond * (tickMs / 1000) && target.dropOne()) this.counts.drops++;
      if (refusePerSecond > 0 && this.#random() < refusePerSecond * (tickMs / 1000)) {
        this.counts.refusals++;
        target.refuseFor(this.#o.refuseForMs);
      }
    }, tickMs);
    this.#timer.unref();
  }

  /** 429, 503 or nothing, for a new request or upgrade. */
  error(): 429 | 503 | undefined {
    const next = this.#errorNext.shift();
    if (next) {
      this.counts.errors++;
      return next;
    }
    if (this.#o.errorRate <= 0 || this.#random() >= this.#o.errorRate) return undefined;
    this.counts.errors++;
    return this.#random() < 0.5 ? 429 : 503;
  }

  /** Whether this response or stream stalls. */
  stall(): boolean {
    if (this.#stallNext > 0) {
      this.#stallNext--;
      this.counts.stalls++;
      return true;
    }
    if (this.#o.stallRate <= 0 || this.#random() >= this.#o.stallRate) return false;
    this.counts.stalls++;
    return true;
  }

  get slowFirstByteMs(): number {
    return this.#o.slowFirstByteMs;
  }
}
