import { describe, expect, it } from 'vitest';
import { LoadedModel } from '../../lib/model/loaded-model.js';
import type { ModelManifest } from '../../pipelines/model.js';
import type { FittedTransform } from '../../pipelines/transform.js';
import { scoreRows } from '../../serving/score-batcher.js';

/** A binary model over one numeric feature `x` (standardised with mean 0, std 1). */
const transform: FittedTransform = {
  version: 1,
  numeric: [{ name: 'x', sql: 'x', fill: 0, mean: 0, std: 1, indicator: false, missingRate: 0 }],
  categorical: [],
  label: { task: 'binary', sql: 'y', classes: ['0', '1'] },
  fittedOnRows: 10,
};

/** A model scored with a per-call cost (as TF.js scores a non-Dense network) answering x / 100, counting the matrices it is given. */
function model(fail?: Error): { loaded: LoadedModel; calls: number[] } {
  const calls: number[] = [];
  const manifest = { format: 'sluice-model/1', tfjs: {}, transform } as unknown as ModelManifest;
  const loaded = new LoadedModel(
    'm',
    1,
    'sha',
    manifest,
    {
      predict: (x, rows) => {
        calls.push(rows);
        if (fail) throw fail;
        return x.map((v) => v / 100);
      },
      dispose: () => undefined,
    },
    true,
  );
  return { loaded, calls };
}

describe('serving scores concurrent requests together', () => {
  it('answers each of many concurrent requests with its own rows, scored in one network call', async () => {
    const { loaded, calls } = model();
    const requests = [[{ x: 1 }], [{ x: 2 }, { x: 3 }], [{ x: 4 }]];
    const answers = await Promise.all(requests.map(async (rows) => scoreRows(loaded, rows)));
    expect(answers).toEqual([[0.01], [0.02, 0.03], [0.04]].map((a) => a.map((v) => Math.fround(v))));
    expect(calls).toEqual([4]);
    // A later request is its own batch.
    expect(await scoreRows(loaded, [{ x: 5 }])).toEqual([Math.fround(0.05)]);
    expect(calls).toEqual([4, 1]);
  });

  it('fails every request of a batch whose scoring fails, with the error', async () => {
    const { loaded } = model(new Error('m v1 was disposed while still in use'));
    const results = await Promise.allSettled([scoreRows(loaded, [{ x: 1 }]), scoreRows(loaded, [{ x: 2 }])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ message: /disposed/ });
  });
});

describe('a model whose scoring has no per-call cost is scored at once', () => {
  it('scores each request in its own call, without waiting for the event-loop turn', () => {
    const calls: number[] = [];
    const manifest = { format: 'sluice-model/1', tfjs: {}, transform } as unknown as ModelManifest;
    const loaded = new LoadedModel('m', 1, 'sha', manifest, {
      predict: (x, rows) => {
        calls.push(rows);
        return x.map((v) => v / 100);
      },
      dispose: () => undefined,
    });
    expect(scoreRows(loaded, [{ x: 1 }])).toEqual([Math.fround(0.01)]);
    expect(scoreRows(loaded, [{ x: 2 }, { x: 3 }])).toEqual([Math.fround(0.02), Math.fround(0.03)]);
    expect(calls).toEqual([1, 2]);
  });
});
