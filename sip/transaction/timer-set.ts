/** One timer of a WaitQueue; `fn` is dropped on cancel so a cancelled entry holds nothing. */
interface WaitEntry {
  at: number;
  fn: (() => void) | undefined;
}

/**
 * Many timers of one fixed duration behind a single setTimeout. With one
 * duration, deadlines come due in the order the timers were added, so a FIFO
 * is enough; the timer is armed `slack` ms past the first deadline so that
 * the entries due in between run in the same wakeup. This is for the
 * RFC 3261 wait timers (D, I, J, K, L, M), which only bound how long a
 * finished transaction absorbs retransmissions: ending one a few tens of
 * milliseconds late is harmless, while a wakeup per transaction is not
 * (10,000 registrations refreshing every 30 s made 333 Timer K wakeups a
 * second).
 */
export class WaitQueue {
  static readonly #queues = new Map<number, WaitQueue>();

  /** The shared queue for a duration. */
  static for(ms: number): WaitQueue {
    let q = WaitQueue.#queues.get(ms);
    if (!q) {
      q = new WaitQueue(ms);
      WaitQueue.#queues.set(ms, q);
    }
    return q;
  }

  readonly #ms: number;
  readonly #slack: number;
  #entries: WaitEntry[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  private constructor(ms: number) {
    this.#ms = ms;
    this.#slack = Math.min(100, Math.floor(ms / 10));
  }

  get pending(): number {
    return this.#entries.length - this.#head;
  }

  add(fn: () => void): WaitEntry {
    const e: WaitEntry = { at: performance.now() + this.#ms, fn };
    this.#entries.push(e);
    if (!this.#timer) this.#arm();
    return e;
  }

  cancel(e: WaitEntry): void {
    e.fn = undefined;
  }

  #arm(): void {
    const head = this.#entries[this.#head];
    if (!head) {
      this.#timer = undefined;
      return;
    }
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, head.at - performance.now()) + this.#slack);
    // Wait timers must not keep a process alive on their own.
    this.#timer.unref();
  }

  #fire(): void {
    // Armed `slack` ms after the head's deadline, so everything due in that span runs now: late, never early.
    const until = performance.now();
    const list = this.#entries;
    while (this.#head < list.length && list[this.#head]!.at <= until) {
      const e = list[this.#head++]!;
      const fn = e.fn;
      e.fn = undefined;
      fn?.();
    }
    if (this.#head > 1024 && this.#head * 2 > list.length) {
      this.#entries = list.slice(this.#head);
      this.#head = 0;
    }
    this.#arm();
  }
}

/** The timers one transaction has running; dispose() clears them all (SIP.js's rule: dispose clears every timer it set). */
export class TimerSet {
  readonly #timers = new Set<NodeJS.Timeout>();
  #waits: WaitEntry[] | undefined;

  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    // A transaction's timers must not keep a process alive on their own.
    t.unref();
    this.#timers.add(t);
  }

  /** A wait timer (D, I, J, K, L, M): may fire up to a few tens of ms late, shares one setTimeout with its kind. */
  wait(ms: number, fn: () => void): void {
    const q = WaitQueue.for(ms);
    (this.#waits ??= []).push(q.add(fn));
  }

  clear(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (this.#waits) {
      for (const e of this.#waits) e.fn = undefined;
      this.#waits = undefined;
    }
  }
}
