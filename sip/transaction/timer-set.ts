/** The timers one transaction has running; dispose() clears them all (SIP.js's rule: dispose clears every timer it set). */
export class TimerSet {
  readonly #timers = new Set<NodeJS.Timeout>();

  after(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    // A transaction's timers must not keep a process alive on their own.
    t.unref();
    this.#timers.add(t);
  }

  clear(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
