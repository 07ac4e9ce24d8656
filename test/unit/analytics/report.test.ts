import assert from 'node:assert/strict';
import { percentile } from '../../../src/analytics/report/build.js';
import { groupedBars, lines } from '../../../src/analytics/report/svg.js';

describe('analytics: report arithmetic and charts', () => {
  it('percentiles are nearest-rank over the values present (nulls ignored)', () => {
    const v = [null, 5, 1, 4, 2, 3, null];
    assert.equal(percentile(v, 50), 3);
    assert.equal(percentile(v, 95), 5);
    assert.equal(percentile(v, 1), 1);
    assert.equal(percentile([null], 50), null);
    assert.equal(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 99), 99);
  });

  it('a chart with nothing to draw says so, and counts what it draws', () => {
    assert.match(groupedBars('t', [{ label: 'a', values: [null, null] }], ['p50', 'p95']), /data-marks="0".*No data/s);
    assert.match(groupedBars('t', [{ label: 'a', values: [1, 2] }], ['p50', 'p95']), /data-marks="2"/);
    assert.match(lines('t', [{ name: 's', points: [[0, 1], [1000, 2], [2000, 0]] }]), /data-marks="3"[\s\S]*<path d="M/);
  });
});
