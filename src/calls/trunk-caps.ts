import type { LeaseGrant, LeaseStore } from '../leases/index.js';
import { DialRefusedError } from './errors.js';
import type { Trunk } from './trunks.js';

/** A trunk slot held for one outbound call; give it back once, when the call ends. */
export interface TrunkSlot {
  release(): void;
}

/**
 * Each trunk's caps, all replicas together, in the lease store the provider caps use (memory for
 * one replica, Redis for many):
 *
 * - calls at once: a semaphore slot per call (`outbound:<trunk>:calls`), renewed every TTL/3
 *   while the call lasts and released when it ends; a replica that dies loses its slots at the TTL.
 * - calls per second: a slot of `outbound:<trunk>:cps` with a one-second TTL that is never
 *   released: the live slots are the calls started in the last second, a sliding window.
 *
 * A store that does not answer refuses the dial: a cap that cannot be checked is not kept.
 */
export class TrunkCaps {
  readonly #store: LeaseStore;
  readonly #replicaId: string;
  readonly #ttlMs: number;

  constructor(store: LeaseStore, replicaId: string, ttlMs: number) {
    this.#store = store;
    this.#replicaId = replicaId;
    this.#ttlMs = ttlMs;
  }

  /** Takes both caps for one call or throws DialRefusedError (nothing is held then). */
  async take(trunk: Trunk, callId: string): Promise<TrunkSlot> {
    const owner = `${this.#replicaId}/${callId}`;
    let calls: LeaseGrant | undefined;
    try {
      calls = await this.#store.semaphoreTryAcquire(`outbound:${trunk.id}:calls`, trunk.maxConcurrent, owner, this.#ttlMs);
    } catch (err) {
      throw new DialRefusedError({ why: 'lease-store', detail: err instanceof Error ? err.message : String(err) }, { cause: err });
    }
    if (!calls) throw new DialRefusedError({ why: 'trunk-concurrency', limit: trunk.maxConcurrent, detail: `trunk ${trunk.id} has ${trunk.maxConcurrent} calls at once (outbound.trunks.maxConcurrent)` });
    let rate: LeaseGrant | undefined;
    try {
      rate = await this.#store.semaphoreTryAcquire(`outbound:${trunk.id}:cps`, trunk.callsPerSecond, owner, 1000);
    } catch (err) {
      this.#store.semaphoreRelease(calls).catch(() => undefined);
      throw new DialRefusedError({ why: 'lease-store', detail: err instanceof Error ? err.message : String(err) }, { cause: err });
    }
    if (!rate) {
      this.#store.semaphoreRelease(calls).catch(() => undefined);
      throw new DialRefusedError({ why: 'trunk-rate', limit: trunk.callsPerSecond, detail: `trunk ${trunk.id} starts ${trunk.callsPerSecond} calls per second (outbound.trunks.callsPerSecond)` });
    }
    const grant = calls;
    // A renewal the store refuses or misses leaves the call up: it only stops counting for the cap at the TTL.
    const timer = setInterval(() => { this.#store.semaphoreExtend(grant, this.#ttlMs).catch(() => false); }, Math.max(100, Math.floor(this.#ttlMs / 3)));
    timer.unref();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        clearInterval(timer);
        this.#store.semaphoreRelease(grant).catch(() => undefined);
      },
    };
  }
}
