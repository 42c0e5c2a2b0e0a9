import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pipelineReference, regenerateCommand } from '../../pipelines/docs/reference.js';

const committed = join(import.meta.dirname, '..', '..', 'docs', 'pipelines.md');

describe('docs/pipelines.md is the reference of every pipeline field, generated from the schemas', () => {
  const reference = pipelineReference();

  it('matches the schemas (regenerate it after changing one)', () => {
    const onDisk = readFileSync(committed, 'utf8');
    expect(
      onDisk === reference.markdown,
      `docs/pipelines.md is out of date with the schemas in pipelines/: run \`${regenerateCommand}\` and commit it`,
    ).toBe(true);
  });

  it('gives every field a meaning (a .describe() text on its schema)', () => {
    expect(reference.undescribed, 'add .describe("…") to these schema fields').toEqual([]);
  });

  it('lists each mlLifecycle field, each trainer and each built-in step', () => {
    for (const text of [
      '| `train (model: "logistic" \\| "softmax" \\| "mlp" \\| "linear").model` | "logistic" \\| "softmax" \\| "mlp" \\| "linear" (required) |',
      '| `train (model: "logistic" \\| "softmax" \\| "mlp" \\| "linear").epochs` | integer ≥ 1, ≤ 1000 | `20` | Passes over the training split',
      '| `train (model: "gbdt").numLeaves` | integer ≥ 2, ≤ 4096 | `31` | Leaves per tree at most. |',
      '| `split (kind: "kfold").k` | integer ≥ 2, ≤ 20 | `5` |',
      '| `approval.quorum` | integer ≥ 1, ≤ 20 | `1` | Distinct approvers needed. |',
      '### `ingestDataset`',
      '### `detectDrift`',
    ]) {
      expect(reference.markdown).toContain(text);
    }
  });
});
