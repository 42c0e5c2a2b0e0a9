import { describe, expect, it } from 'vitest';
import { BatchSharing } from '../../activities/train/typed-mlp-sharing.js';

/** The modes of the next `count` batches, each recorded as costing `msPerRow(shared)` a row. */
function run(sharing: BatchSharing, count: number, msPerRow: (shared: boolean) => number): boolean[] {
  return Array.from({ length: count }, () => {
    const shared = sharing.next();
    sharing.record(shared, msPerRow(shared) * 256, 256);
    return shared;
  });
}

describe('sharing batches with the second thread', () => {
  it('shares while sharing is faster, trying one thread alone 4 batches in 64', () => {
    const sharing = new BatchSharing();
    const modes = run(sharing, 128, (shared) => (shared ? 0.001 : 0.002));
    expect(modes.slice(0, 4)).toEqual([false, false, false, false]);
    expect(modes.slice(4, 64).every(Boolean)).toBe(true);
    expect(modes.filter((shared) => !shared)).toHaveLength(8);
    expect(sharing.costs()).toEqual({ alone: 0.002, shared: 0.001 });
    expect(sharing.counts()).toEqual({ batches: 128, shared: 120 });
  });

  it('computes alone while that is faster (busy cores), and notices when sharing pays again', () => {
    const sharing = new BatchSharing();
    let busy = true;
    const alone = run(sharing, 128, (shared) => (shared ? (busy ? 0.004 : 0.001) : 0.002));
    // After the first round's trial of sharing, one thread alone is favoured; sharing is tried 4 in 64.
    expect(alone.slice(64).filter(Boolean)).toHaveLength(4);
    busy = false;
    const modes = run(sharing, 128, (shared) => (shared ? (busy ? 0.004 : 0.001) : 0.002));
    expect(modes.slice(-60).every(Boolean)).toBe(true);
  });
});
