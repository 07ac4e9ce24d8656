import assert from 'node:assert/strict';
import { createLeaseGate } from '../../../src/boot/lease-gate.js';
import { fairShare, LeaseInvalidArgumentError, MemoryLeaseStore, type LeaseGrant, type LeaseStore, type SemaphoreHeartbeat, type SemaphoreTake } from '../../../src/leases/index.js';
import type { CapacitySlot } from '../../../src/pools/types.js';

/** A memory store with an off switch: every call fails while `down`, as a dead Redis does. */
class SwitchableStore extends MemoryLeaseStore implements LeaseStore {
  down = false;
  #check(): void { if (this.down) throw new Error('connection refused'); }
  override async semaphoreTake(name: string, limit: number, owner: string, ttlMs: number, force: boolean): Promise<SemaphoreTake> {
    this.#check(); return super.semaphoreTake(name, limit, owner, ttlMs, force);
  }
  override async semaphoreHeartbeat(name: string, owner: string, ttlMs: number, tokens: readonly number[]): Promise<SemaphoreHeartbeat> {
    this.#check(); return super.semaphoreHeartbeat(name, owner, ttlMs, tokens);
  }
  override async semaphoreRelease(grant: LeaseGrant): Promise<boolean> { this.#check(); return super.semaphoreRelease(grant); }
}

describe('leases: fair share (memory store, same rule as sem-take-5.lua)', () => {
  it('fairShare is the ceiling of cap over live replicas', () => {
    assert.equal(fairShare(6, 3), 2);
    assert.equal(fairShare(7, 3), 3);
    assert.equal(fairShare(6, 0), 6);
  });

  it('a lone replica may take the whole free cap; once another waits, free slots are left to it', async () => {
    const store = new MemoryLeaseStore();
    const a: LeaseGrant[] = [];
    for (let i = 0; i < 6; i++) { const t = await store.semaphoreTake('c', 6, 'A', 10_000, false); assert.ok(t.grant); a.push(t.grant); }
    const refused = await store.semaphoreTake('c', 6, 'B', 10_000, false);
    assert.equal(refused.grant, undefined);
    assert.equal(refused.view.replicas, 2);
    const hb = await store.semaphoreHeartbeat('c', 'A', 10_000, a.map((g) => g.token));
    assert.equal(hb.view.othersWaiting, 1, 'A learns that B waits');
    assert.equal(hb.alive.size, 6);
    // A gives back three idle slots; its own retake is refused while B waits and A holds its share.
    for (const g of a.splice(0, 3)) await store.semaphoreRelease(g);
    assert.equal((await store.semaphoreTake('c', 6, 'A', 10_000, false)).grant, undefined);
    // B stays marked until it reaches its share, so A cannot slip in between B's takes.
    for (let i = 0; i < 3; i++) {
      assert.ok((await store.semaphoreTake('c', 6, 'B', 10_000, false)).grant, `B take ${i}`);
      if (i < 2) assert.equal((await store.semaphoreTake('c', 6, 'A', 10_000, false)).grant, undefined, `A refused after B take ${i}`);
    }
    assert.equal(await store.semaphoreCount('c'), 6);
    // force (re-establishing an open connection) ignores the share but never the cap.
    assert.equal((await store.semaphoreTake('c', 6, 'A', 10_000, true)).grant, undefined);
  });
});

describe('leases: gate outage handling (switchable store)', () => {
  it('rejects a bad localShare with a typed error', () => {
    assert.throws(() => createLeaseGate({ store: new MemoryLeaseStore(), provider: 'p', limit: 4, ttlMs: 10_000, replicaId: 'A', localShare: 0 }), LeaseInvalidArgumentError);
    assert.throws(() => createLeaseGate({ store: new MemoryLeaseStore(), provider: 'p', limit: 4, ttlMs: 10_000, replicaId: 'A', localShare: 1.5 }), LeaseInvalidArgumentError);
  });

  it('degrades to the local cap keeping open slots, then re-takes them against the global cap', async () => {
    const store = new SwitchableStore();
    const gate = createLeaseGate({ store, provider: 'p', limit: 4, ttlMs: 10_000, replicaId: 'A', localShare: 0.5 });
    const events: string[] = [];
    gate.on('degraded', () => events.push('degraded'));
    gate.on('recovered', ({ reacquired, lost }) => events.push(`recovered ${reacquired}/${lost}`));
    try {
      const lost: Error[] = [];
      const slots: CapacitySlot[] = [];
      for (let i = 0; i < 3; i++) { const s = await gate.tryTake(); assert.ok(s); s.onLost((e) => lost.push(e)); slots.push(s); }
      store.down = true;
      await gate.beat();
      assert.deepEqual(events, ['degraded']);
      assert.equal(gate.mode, 'local');
      assert.equal(gate.localCap, 2);
      assert.equal(gate.held(), 3, 'open connections keep their slots');
      assert.equal(await gate.tryTake(), undefined, 'above the local cap: nothing new');
      slots.pop()!.release();
      slots.pop()!.release();
      const local = await gate.tryTake();
      assert.ok(local, 'under the local cap: granted without the store');
      assert.equal(gate.stats().localOnly, 1);
      store.down = false;
      await gate.beat();
      assert.deepEqual(events, ['degraded', 'recovered 1/0']);
      assert.equal(gate.mode, 'global');
      assert.equal(gate.stats().localOnly, 0);
      assert.equal(await store.semaphoreCount('p'), 2);
      assert.equal(lost.length, 0);
    } finally { await gate.close(); }
  });
});
