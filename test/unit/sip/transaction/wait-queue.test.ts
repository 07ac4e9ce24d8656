import assert from 'node:assert/strict';
import { TimerSet, WaitQueue } from '../../../../sip/transaction/timer-set.js';
import { until } from '../../../support/wait.js';

describe('sip/transaction: wait timers share one queue per duration', () => {
  it('fires in the order added, never early, and a cleared TimerSet\'s waits never fire', async () => {
    const fired: string[] = [];
    const started = performance.now();
    const sets = ['a', 'b', 'c', 'd'].map((name) => {
      const s = new TimerSet();
      s.wait(60, () => fired.push(name));
      return s;
    });
    const q = WaitQueue.for(60);
    assert.equal(q.pending, 4, 'one queue holds all four');
    sets[1]!.clear();
    await until(() => fired.length === 3, 'the three live waits');
    assert.ok(performance.now() - started >= 60, 'not before their time');
    assert.deepEqual(fired, ['a', 'c', 'd']);
    await until(() => q.pending === 0, 'the queue to drain');
    // the queue re-arms for later entries
    const again = new TimerSet();
    let late = false;
    again.wait(60, () => { late = true; });
    await until(() => late, 'a wait added after the queue drained');
  });
});
