import type { CapacitySlot } from '../../../src/pools/types.js';
import type { LeaseLogger } from '../../../src/leases/index.js';
import type { LeaseGate, LeaseGateEvents } from '../../../src/boot/lease-gate.js';

/**
 * Stands in for a warm pool on one replica: keeps `want` slots (one per "connection"), marks some
 * busy (carrying a call), gives idle ones back when the gate asks (reclaimIdle), and drops a slot
 * the gate reports lost, as PoolBase does. The real pool has no public way to shed idle
 * connections yet, which is why the gate takes `reclaimIdle` as a hook.
 */
export class SlotHolder {
  readonly slots: CapacitySlot[] = [];
  readonly busy = new Set<CapacitySlot>();
  lost = 0;
  want: number;
  gate!: LeaseGate;
  #timer: NodeJS.Timeout | undefined;
  #filling = false;

  constructor(want: number) { this.want = want; }

  attach(gate: LeaseGate): this { this.gate = gate; return this; }

  /** Fills towards `want` every `everyMs`, as the pool's maintain loop retries a refused open. */
  run(everyMs = 25): this {
    this.#timer = setInterval(() => { void this.fill(); }, everyMs);
    return this;
  }

  async fill(): Promise<void> {
    if (this.#filling) return;
    this.#filling = true;
    try {
      while (this.slots.length < this.want) {
        const slot = await this.gate.tryTake();
        if (!slot) return;
        this.adopt(slot);
      }
    } finally { this.#filling = false; }
  }

  adopt(slot: CapacitySlot): void {
    this.slots.push(slot);
    slot.onLost(() => { this.lost++; this.#remove(slot); });
  }

  /** Marks n idle slots as carrying calls. */
  call(n: number): void {
    for (const s of this.slots) { if (n === 0) return; if (!this.busy.has(s)) { this.busy.add(s); n--; } }
  }

  hangUpAll(): void { this.busy.clear(); }

  /** The reclaimIdle hook: closes up to n idle connections, never a busy one. */
  reclaimIdle = (n: number): number => {
    let closed = 0;
    for (const s of [...this.slots].reverse()) {
      if (closed >= n) break;
      if (this.busy.has(s)) continue;
      this.release(s);
      closed++;
    }
    return closed;
  };

  release(slot: CapacitySlot): void { slot.release(); this.#remove(slot); }

  releaseOne(): void { const s = this.slots.find((x) => !this.busy.has(x)); if (s) this.release(s); }

  stop(): void { clearInterval(this.#timer); }

  #remove(slot: CapacitySlot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    this.busy.delete(slot);
  }
}

export class RecordingLogger implements LeaseLogger {
  readonly lines: Array<{ level: string; msg: string; obj: object }> = [];
  info(obj: object, msg: string): void { this.lines.push({ level: 'info', msg, obj }); }
  warn(obj: object, msg: string): void { this.lines.push({ level: 'warn', msg, obj }); }
  error(obj: object, msg: string): void { this.lines.push({ level: 'error', msg, obj }); }
}

export function once<K extends keyof LeaseGateEvents>(gate: LeaseGate, event: K): Promise<LeaseGateEvents[K]> {
  return new Promise((resolve) => { gate.once(event, ((...a: LeaseGateEvents[K]) => resolve(a)) as never); });
}

/** Polls an async condition until it holds; fails after `timeoutMs` naming `what`. */
export async function eventually(cond: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
