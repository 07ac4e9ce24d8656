import type { AgentUpstreams } from '../agent/index.js';
import type { Lease, LeaseSource, PooledConnection } from '../pools/index.js';
import { CallEndedError } from './errors.js';

/**
 * Why a call's pending acquisitions stop. One instance for every call: a normal end, not a fault
 * to trace, and an Error built per call captured a stack trace each time.
 */
const CALL_ENDED = new CallEndedError({});

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
    if (!this.#abort.signal.aborted) this.#abort.abort(CALL_ENDED);
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
        if (!options?.signal) return this.#keep(await source.acquire({ signal: ended }), ended);
        const either = eitherSignal(options.signal, ended);
        try {
          return this.#keep(await source.acquire({ signal: either.signal }), ended);
        } finally {
          either.dispose();
        }
      },
    };
  }

  #keep<C extends PooledConnection>(lease: Lease<C>, ended: AbortSignal): Lease<C> {
    if (ended.aborted) {
      lease.release();
      throw ended.reason;
    }
    this.#prune();
    this.#out.add(lease as unknown as Lease<PooledConnection>);
    return lease;
  }

  /** Forgets leases the agent already returned (or the pool lost): the set holds a call's few live ones. */
  #prune(): void {
    for (const lease of this.#out) if (!lease.active) this.#out.delete(lease);
  }
}

/**
 * A signal that aborts when either does, for as long as the acquisition waits. AbortSignal.any
 * does the same for the signal's whole life (weak references and a finalization registry per
 * signal: 2x the CPU of this on Node 20, per turn of every call); here the listeners go as soon
 * as the pool answered.
 */
function eitherSignal(a: AbortSignal, b: AbortSignal): { signal: AbortSignal; dispose(): void } {
  const both = new AbortController();
  if (a.aborted || b.aborted) {
    both.abort(a.aborted ? a.reason : b.reason);
    return { signal: both.signal, dispose: () => undefined };
  }
  const onA = () => both.abort(a.reason);
  const onB = () => both.abort(b.reason);
  a.addEventListener('abort', onA, { once: true });
  b.addEventListener('abort', onB, { once: true });
  return {
    signal: both.signal,
    dispose: () => {
      a.removeEventListener('abort', onA);
      b.removeEventListener('abort', onB);
    },
  };
}
