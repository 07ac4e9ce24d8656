import assert from 'node:assert/strict';
import { ExclusivePool, PoolSet, type PoolBase } from '../../../src/pools/index.js';
import { FakeFactory, until, type FakeConnection } from '../../support/fake-factory.js';

/** pools.idleToZeroS: a key nobody asks for goes to zero connections, and warms again when asked for. */
describe('pools: PoolSet idle to zero', () => {
  const made: PoolBase<FakeConnection>[] = [];
  afterEach(() => { for (const p of made.splice(0)) p.destroy(); });

  it('drops an unused key to zero, keeps a used one, and warms the key again at its next call', async () => {
    let now = 0;
    const set = new PoolSet<FakeConnection>((factory) => {
      const p = new ExclusivePool({ name: 'asr', factory, min: 2, max: 4 });
      made.push(p);
      return p;
    }, { idleToZeroMs: 60_000, now: () => now });
    const rare = new FakeFactory('asr:rare');
    const busy = new FakeFactory('asr:busy');
    const pRare = set.get(rare);
    const pBusy = set.get(busy);
    await Promise.all([pRare.whenReady(), pBusy.whenReady()]);
    now = 59_000;
    set.get(busy);
    const lease = await pBusy.acquire();
    now = 61_000;
    set.sweep();
    assert.equal(pRare.min, 0);
    assert.equal(rare.live.length, 0, 'the unused key holds no connection');
    assert.equal(pBusy.min, 2, 'a key asked for within the idle time keeps its floor');
    assert.deepEqual([...set.zeroed()], [['asr:rare', 2]]);
    now = 200_000;
    set.sweep();
    assert.equal(pBusy.min, 2, 'a pool with a lease out is never dropped');
    lease.release();
    // The next call for the rare key brings its floor back.
    assert.equal(set.get(rare), pRare);
    assert.equal(pRare.min, 2);
    await until(() => rare.live.length === 2, 'the rare key warm again');
    await set.close();
  });

  it('never zeroes a kept key (a standby region\'s), and a floor set while a key is zeroed is the one it comes back to', async () => {
    let now = 0;
    const set = new PoolSet<FakeConnection>((factory) => { const p = new ExclusivePool({ name: 'asr', factory, min: 2, max: 4 }); made.push(p); return p; }, { idleToZeroMs: 60_000, now: () => now, keep: (k) => k.endsWith('|region:eu-west') });
    const standby = new FakeFactory('asr:x|region:eu-west');
    const home = new FakeFactory('asr:x|region:us-east');
    const [ps, ph] = [set.get(standby), set.get(home)];
    await Promise.all([ps.whenReady(), ph.whenReady()]);
    now = 61_000;
    set.sweep();
    assert.equal(ps.min, 2, 'kept: never zeroed');
    assert.equal(standby.live.length, 2);
    assert.equal(ph.min, 0);
    // Another owner's floor change (a region's promotion) while zeroed: recorded, not fighting the zero.
    set.setFloor(home.key, 3);
    assert.equal(ph.min, 0);
    set.setFloor(standby.key, 3);
    assert.equal(ps.min, 3);
    set.get(home);
    assert.equal(ph.min, 3, 'back at the floor set while it was zeroed');
    await set.close();
  });

  it('0 means never', async () => {
    let now = 0;
    const f = new FakeFactory('asr:x');
    const set = new PoolSet<FakeConnection>((factory) => { const p = new ExclusivePool({ name: 'asr', factory, min: 1, max: 1 }); made.push(p); return p; }, { now: () => now });
    const p = set.get(f);
    now = 1e9;
    set.sweep();
    assert.equal(p.min, 1);
    await set.close();
  });
});
