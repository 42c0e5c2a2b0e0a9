import { InvalidInputError } from '../../pipelines/errors.js';
import { kfoldSplits } from './split.js';
import { trainOnDataset, type TrainHooks, type TrainJob } from './train-core.js';

export interface FoldResult {
  fold: number;
  rows: { train: number; validation: number };
  validationLoss: number;
  bestEpoch: number;
}

export interface CrossValidation {
  k: number;
  folds: FoldResult[];
  /** Mean and (population) standard deviation of the folds' best validation loss. */
  mean: number;
  std: number;
}

/**
 * K-fold cross-validation: train once per fold of a `kfold` split (each fold validates once, the
 * others train; the held-out test rows are never touched) and report every fold's validation loss
 * with their mean and spread. Folds run one after another in this process; a workflow that wants
 * them in parallel runs one `trainModel` per fold instead (`kfoldSplits` gives their splits).
 */
export async function crossValidate(
  job: TrainJob,
  hooks: Pick<TrainHooks, 'signal' | 'onBatch'> = {},
): Promise<CrossValidation> {
  const { split } = job;
  if (split.kind !== 'kfold') {
    throw new InvalidInputError(
      `cross-validation needs a "kfold" split, not "${split.kind}": give split { kind: 'kfold', key, k }`,
    );
  }
  const folds: FoldResult[] = [];
  for (const foldSplit of kfoldSplits(split)) {
    const outcome = await trainOnDataset({ ...job, split: foldSplit }, hooks);
    folds.push({
      fold: foldSplit.fold,
      rows: { train: outcome.metadata.data.rows.train, validation: outcome.metadata.data.rows.validation },
      validationLoss: outcome.metadata.metrics.validationLoss,
      bestEpoch: outcome.result.bestEpoch,
    });
  }
  const losses = folds.map((f) => f.validationLoss);
  const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
  const std = Math.sqrt(losses.reduce((a, b) => a + (b - mean) ** 2, 0) / losses.length);
  return { k: split.k, folds, mean, std };
}
