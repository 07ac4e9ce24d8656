/**
 * The dashboard's memory: one sample a second for the last 15 minutes, and
 * the pool and cap events of that window. Everything the page draws comes
 * from here (pushed over SSE); nothing here waits on the store.
 */

export interface PoolPoint {
  /** `asr`, or `asr·2` when one upstream has pools for several connection keys. */
  label: string;
  upstream: string;
  key: string;
  state: string;
  size: number;
  idle: number;
  inUse: number;
  target: number;
  pending: number;
  p95: number;
  opens: number;
  replacements: number;
  exhausted: number;
  slow: boolean;
}

export interface RegistrationPoint {
  id: string;
  state: string;
  lastStatus: number | null;
  rttMs: number | null;
  failures: number;
}

export interface GatePoint {
  provider: string;
  mode: string;
  held: number;
  limit: number;
  localCap: number;
  replicas: number;
  fairShare: number;
}

export interface LiveSample {
  /** ms since the epoch */
  t: number;
  replica: string;
  pools: PoolPoint[];
  callsActive: number;
  /** Answered since start: the page turns two samples a minute apart into calls per minute. */
  callsAnswered: number;
  callsEnded: number;
  registrations: RegistrationPoint[];
  gates: GatePoint[];
  analytics: { queued: number; dropped: number; written: number; storeUp: boolean; store: string };
}

export interface LiveEvent {
  t: number;
  pool: string;
  kind: string;
  reason: string;
}

export type LiveMessage = { type: 'sample'; sample: LiveSample } | { type: 'event'; event: LiveEvent } | { type: 'calls' };

export const WINDOW_MS = 15 * 60_000;

export class LiveWindow {
  readonly #samples: LiveSample[] = [];
  readonly #events: LiveEvent[] = [];
  readonly #listeners = new Set<(m: LiveMessage) => void>();

  add(sample: LiveSample): void {
    this.#samples.push(sample);
    const from = sample.t - WINDOW_MS;
    while (this.#samples.length && this.#samples[0]!.t < from) this.#samples.shift();
    while (this.#events.length && this.#events[0]!.t < from) this.#events.shift();
    this.#emit({ type: 'sample', sample });
  }

  event(e: LiveEvent): void {
    this.#events.push(e);
    this.#emit({ type: 'event', event: e });
  }

  /** A call ended: the page refreshes its list of recent calls. */
  callsChanged(): void {
    this.#emit({ type: 'calls' });
  }

  history(): { samples: LiveSample[]; events: LiveEvent[] } {
    return { samples: [...this.#samples], events: [...this.#events] };
  }

  subscribe(listener: (m: LiveMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  #emit(m: LiveMessage): void {
    for (const l of this.#listeners) {
      try {
        l(m);
      } catch {
        // A listener is an HTTP response; one that throws is a closed socket, dropped on its 'close'.
      }
    }
  }
}
