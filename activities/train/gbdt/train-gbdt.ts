import type { GbdtTrainerSpec } from '../../../pipelines/train-spec.js';
import type { FittedLabel, FittedTransform } from '../../../pipelines/transform.js';
import type { TrainingData } from '../trainer.js';
import { fitGbdt, type GbdtCheckpoint, type GbdtData, type GbdtFit, type GbdtParams } from './boost.js';
import type { Forest } from '../../../lib/model/gbdt/forest.js';
import { gbdtLayout, toTreeRows } from '../../../lib/model/gbdt/transform-layout.js';

export interface GbdtTrainHooks {
  resume?: GbdtCheckpoint;
  onCheckpoint?: (checkpoint: GbdtCheckpoint, stopping: boolean) => Promise<void>;
  onTree?: () => void;
  signal?: AbortSignal;
}

/** The learner's params from a validated `model: 'gbdt'` trainer spec. */
export function gbdtParams(spec: GbdtTrainerSpec, label: FittedLabel): GbdtParams {
  return {
    objective: label.task,
    classes: label.classes.length,
    rounds: spec.rounds,
    learningRate: spec.learningRate,
    numLeaves: spec.numLeaves,
    maxDepth: spec.maxDepth,
    minDataInLeaf: spec.minDataInLeaf,
    minSumHessian: spec.minSumHessian,
    l2: spec.l2,
    minSplitGain: spec.minSplitGain,
    baggingFraction: spec.baggingFraction,
    featureFraction: spec.featureFraction,
    maxBins: spec.maxBins,
    maxCategories: spec.maxCategories,
    minDataPerCategory: spec.minDataPerCategory,
    maxCatThreshold: spec.maxCatThreshold,
    catSmooth: spec.catSmooth,
    catL2: spec.catL2,
    earlyStoppingRounds: spec.earlyStopping.patience,
    minDelta: spec.earlyStopping.minDelta,
    seed: spec.seed,
    checkpointEvery: spec.checkpointEvery,
  };
}

/**
 * A split as tree rows (one column per feature, categories as codes): a tenth of the transform's
 * one-hot rows on flights, so the caller can let those go before fitting (docs/training.md, "Memory").
 */
export function gbdtData(transform: FittedTransform, d: TrainingData): GbdtData {
  return {
    x: toTreeRows(gbdtLayout(transform), d.x, d.rows),
    y: d.y,
    rows: d.rows,
    ...(d.w === undefined ? {} : { w: d.w }),
  };
}

/**
 * Fit trees on the tree rows ({@link gbdtData}) of the training and validation splits (targets as the
 * dense trainers get them: 0/1, class index, or the standardised value), and return the forest in the
 * label's own units.
 */
export async function trainGbdt(
  transform: FittedTransform,
  spec: GbdtTrainerSpec,
  train: GbdtData,
  validation: GbdtData,
  hooks: GbdtTrainHooks,
): Promise<GbdtFit> {
  const fit = await fitGbdt(
    gbdtLayout(transform).features,
    train,
    validation.rows > 0 ? validation : undefined,
    gbdtParams(spec, transform.label),
    hooks,
  );
  return { ...fit, forest: unscale(fit.forest, transform.label) };
}

/** Regression trees learn the standardised target; fold the scale back so the model predicts in units. */
function unscale(forest: Forest, label: FittedLabel): Forest {
  if (!label.scale) return forest;
  const { mean, std } = label.scale;
  return {
    ...forest,
    initScore: forest.initScore.map((v) => v * std + mean),
    leafValue: forest.leafValue.map((v) => v * std),
  };
}
