import type { GbdtTrainerSpec } from '../../../pipelines/train-spec.js';
import type { FittedLabel, FittedTransform } from '../../../pipelines/transform.js';
import type { TrainingData } from '../trainer.js';
import { fitGbdt, type GbdtCheckpoint, type GbdtFit, type GbdtParams } from './boost.js';
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
 * Fit trees on the transform's training and validation matrices (targets as the dense trainers get
 * them: 0/1, class index, or the standardised value), and return the forest in the label's own units.
 */
export async function trainGbdt(
  transform: FittedTransform,
  spec: GbdtTrainerSpec,
  train: TrainingData,
  validation: TrainingData,
  hooks: GbdtTrainHooks,
): Promise<GbdtFit> {
  const layout = gbdtLayout(transform);
  const asTree = (d: TrainingData) => ({
    x: toTreeRows(layout, d.x, d.rows),
    y: d.y,
    rows: d.rows,
    ...(d.w === undefined ? {} : { w: d.w }),
  });
  const fit = await fitGbdt(
    layout.features,
    asTree(train),
    validation.rows > 0 ? asTree(validation) : undefined,
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
