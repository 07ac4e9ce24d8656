import { performance } from 'node:perf_hooks';
import type { CapacityGate, CapacitySlot } from '../pools/types.js';
import { LeaseLostError } from './errors.js';
import { localDeadline, type LeaseGrant, type LeaseStore } from './types.js';

export interface LeaseGateOptions {
  store: LeaseStore;
  /** Semaphore name, e.g. 'deepgram:project-x'. */
  provider: string;
  limit: number;
  ttlMs: number;
  replicaId: string;
}

/**
 * CapacityGate over a store semaphore: every open connection holds one slot, renewed every ttl/3.
 * A denied renewal, or one not confirmed before the local deadline (shorter than the TTL, see
 * localDeadline), makes the slot LOST so the pool closes the connection before another replica
 * can be granted the freed slot. Fair sharing between replicas is not implemented yet.
 */
export function createLeaseGate(options: LeaseGateOptions): CapacityGate & { held(): number; close(): void } {
  const { store, provider, limit, ttlMs, replicaId } = options;
  const slots = new Set<() => void>();
  let seq = 0;

  return {
    held: () => slots.size,
    close() { for (const stop of [...slots]) stop(); },
    async tryTake(signal?: AbortSignal): Promise<CapacitySlot | undefined> {
      if (signal?.aborted) return undefined;
      let grant: LeaseGrant | undefined;
      try {
        grant = await store.semaphoreTryAcquire(provider, limit, replicaId, ttlMs);
      } catch {
        return undefined;
      }
      if (!grant) return undefined;
      let current = grant;
      const listeners: Array<(reason: Error) => void> = [];
      let done = false;
      const stop = () => { done = true; clearInterval(timer); clearTimeout(deadline); slots.delete(stop); };
      const lose = (reason: string) => {
        if (done) return;
        stop();
        const error = new LeaseLostError({ key: provider, token: current.token, reason });
        for (const l of listeners) l(error);
      };
      let deadline = setTimeout(() => lose('renewal not confirmed before the local deadline'), current.localDeadline - performance.now());
      const timer = setInterval(() => {
        const started = performance.now();
        store.semaphoreExtend(current, ttlMs).then((ok) => {
          if (done) return;
          if (!ok) return lose('renewal denied');
          current = { ...current, localDeadline: localDeadline(started, ttlMs) };
          clearTimeout(deadline);
          deadline = setTimeout(() => lose('renewal not confirmed before the local deadline'), current.localDeadline - performance.now());
        }, () => { /* the deadline timer decides */ });
      }, Math.floor(ttlMs / 3));
      slots.add(stop);
      return {
        id: `${provider}#${current.token}@${replicaId}-${++seq}`,
        release() {
          if (done) return;
          stop();
          store.semaphoreRelease(current).catch(() => { /* expires within the TTL */ });
        },
        onLost(listener) { listeners.push(listener); },
      };
    },
  };
}
