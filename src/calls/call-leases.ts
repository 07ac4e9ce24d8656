import type { AgentUpstreams } from '../agent/index.js';
import type { Lease, LeaseSource, PooledConnection } from '../pools/index.js';

/**
 * The ledger of every upstream lease one call holds. The Call owns it: the
 * agent acquires through `upstreams` (the call's ASR socket for its whole
 * length, a TTS context, an LLM stream or a CRM request per turn) and returns
 * what it is done with, but when the call ends, `close()` returns whatever is
 * still out — a turn cut short, an agent that failed — and aborts any
 * acquisition still waiting, so a lease that arrives after the end goes
 * straight back. However the call ends, nothing it leased stays leased.
 */
export class CallLeases {
  readonly upstreams: AgentUpstreams;
  readonly #abort = new AbortController();
  readonly #out = new Set<Lease<PooledConnection>>();

  constructor(sources: AgentUpstreams) {
    this.upstreams = { asr: this.#track(sources.asr), tts: this.#track(sources.tts), llm: this.#track(sources.llm), crm: this.#track(sources.crm) };
  }

  /** Leases out now. */
  get held(): number {
    this.#prune();
    return this.#out.size;
  }

  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Returns every lease still out and refuses new ones; returns how many it had to return. Idempotent. */
  close(): number {
    if (!this.#abort.signal.aborted) this.#abort.abort(new Error('the call ended'));
    let returned = 0;
    for (const lease of this.#out) {
      if (!lease.active) continue;
      lease.release();
      returned++;
    }
    this.#out.clear();
    return returned;
  }

  #track<C extends PooledConnection>(source: LeaseSource<C>): LeaseSource<C> {
    return {
      acquire: async (options) => {
        const ended = this.#abort.signal;
        ended.throwIfAborted();
        const signal = options?.signal ? AbortSignal.any([options.signal, ended]) : ended;
        const lease = await source.acquire({ signal });
        if (ended.aborted) {
          lease.release();
          throw ended.reason;
        }
        this.#prune();
        this.#out.add(lease as unknown as Lease<PooledConnection>);
        return lease;
      },
    };
  }

  /** Forgets leases the agent already returned (or the pool lost): the set holds a call's few live ones. */
  #prune(): void {
    for (const lease of this.#out) if (!lease.active) this.#out.delete(lease);
  }
}
