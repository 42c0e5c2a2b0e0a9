import { describe, expect, it } from 'vitest';
import { baseOrder, epochOrder, runsOf, SHUFFLE_BLOCK } from '../../activities/train/epoch-order.js';

describe('epoch order: a run-long row shuffle visited in blocks reordered every epoch', () => {
  it.each([1, 15, 16, 17, 1000, 4099])('%i rows: every epoch visits every row once', (rows) => {
    const base = baseOrder(rows, 7);
    for (const epoch of [1, 2, 3]) {
      const order = epochOrder(base, 7, epoch);
      expect([...order.rows].sort((a, b) => a - b)).toEqual(Array.from({ length: rows }, (_, i) => i));
    }
  });

  it('the same seed gives the same orders; epochs and seeds differ; the row shuffle is the run’s', () => {
    const base = baseOrder(5000, 3);
    expect(baseOrder(5000, 3)).toEqual(base);
    expect(baseOrder(5000, 4)).not.toEqual(base);
    const [one, two] = [epochOrder(base, 3, 1), epochOrder(base, 3, 2)];
    expect(epochOrder(base, 3, 1).rows).toEqual(one.rows);
    expect(two.rows).not.toEqual(one.rows);
    // Not storage order, and not only a rotation of it: the rows are shuffled, not just the blocks.
    expect(base.slice(0, SHUFFLE_BLOCK)).not.toEqual(
      Uint32Array.from({ length: SHUFFLE_BLOCK }, (_, i) => i),
    );
  });

  it.each([
    [4099, 256],
    [4099, 7],
    [4096, 100],
    [10, 3],
  ])('%i rows in batches of %i: the runs are the batch’s rows, in visiting order', (rows, batch) => {
    const base = baseOrder(rows, 11);
    const order = epochOrder(base, 11, 5);
    let runs: Int32Array = new Int32Array(0);
    for (let start = 0; start < rows; start += batch) {
      const size = Math.min(batch, rows - start);
      const found = runsOf(order, start, size, runs);
      runs = found.runs;
      const visited: number[] = [];
      for (let r = 0; r < found.count; r++) {
        const from = runs[2 * r] as number;
        for (let p = from; p < from + (runs[2 * r + 1] as number); p++) visited.push(base[p] as number);
      }
      expect(visited).toEqual([...order.rows.subarray(start, start + size)]);
      expect(found.count).toBeLessThanOrEqual(Math.ceil(size / SHUFFLE_BLOCK) + 2);
    }
  });
});
