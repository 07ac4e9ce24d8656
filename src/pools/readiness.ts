/**
 * The floor, or as much of it as the provider's cap lets this replica hold: a replica whose
 * share of the cap is below its floor still takes calls with what it has, rather than never
 * becoming ready.
 */
export function floorMet(open: number, min: number, capped: boolean): boolean {
  return open >= min || (capped && open > 0);
}

/** Whether the warm floor was ever reached, and who waits for it. */
export class FloorWatch {
  #reached = false;
  #waiters: Array<() => void> = [];

  get reached(): boolean {
    return this.#reached;
  }

  wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The floor is met now: wakes the waiters; true the first time (the pool says 'ready' once). */
  met(): boolean {
    const first = !this.#reached;
    this.#reached = true;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
    return first;
  }
}
