import type * as tfType from '@tensorflow/tfjs';
import { resolveCalibration } from '../../pipelines/calibration.js';
import type { FittedCalibration } from '../../pipelines/model.js';
import type { TaskKind, TrainerSpec } from '../../pipelines/train-spec.js';
import type { FittedTransform } from '../../pipelines/transform.js';
import { fitCalibration } from '../../lib/model/calibration.js';
import { createPredictor } from '../../lib/model/gbdt/forest.js';
import { gbdtLayout, toTreeRows } from '../../lib/model/gbdt/transform-layout.js';
import { predictBatched, type ModelBody } from '../../lib/model/model-artifact.js';
import type { Matrix } from './load-matrix.js';

type Tf = typeof tfType;

/** What calibration did: the fitted function (absent when off) and why it is off, when it was asked for. */
export interface CalibrationOutcome {
  calibration?: FittedCalibration;
  warnings: string[];
}

/** Fewest validation rows of each class a calibration is fitted on; below that it is skipped, with a warning. */
export const MIN_CALIBRATION_ROWS_PER_CLASS = 10;

/**
 * Fit the trainer's calibration (`trainer.calibration`, `auto` by default) on the validation split's
 * scores of the trained model, scored exactly as evaluation and serving will score them (the tree
 * predictor, or the TF.js network loaded from the files to be stored). Labels are unweighted: the point
 * is the observed frequency of the positive class, whatever class weights training used.
 */
export async function calibrateModel(
  tf: Tf,
  trainer: TrainerSpec,
  task: TaskKind,
  transform: FittedTransform,
  body: ModelBody,
  validation: Matrix,
): Promise<CalibrationOutcome> {
  const method = resolveCalibration(trainer, task);
  if (method === null) return { warnings: [] };
  let positives = 0;
  for (let i = 0; i < validation.rows; i++) positives += validation.y[i] === 1 ? 1 : 0;
  const fewest = Math.min(positives, validation.rows - positives);
  if (fewest < MIN_CALIBRATION_ROWS_PER_CLASS) {
    return {
      warnings: [
        `calibration "${method}" skipped: the validation split has ${fewest} rows of its rarer class, fewer than ${MIN_CALIBRATION_ROWS_PER_CLASS}; the model's probabilities are not calibrated (give the split more validation rows)`,
      ],
    };
  }
  const scores = await scoreBody(tf, body, transform, validation);
  return { calibration: fitCalibration(method, scores, validation.y), warnings: [] };
}

/** P(positive) for every row of `matrix` from a model not yet stored. */
async function scoreBody(
  tf: Tf,
  body: ModelBody,
  transform: FittedTransform,
  matrix: Matrix,
): Promise<Float32Array> {
  if ('root' in body) {
    const rows = toTreeRows(gbdtLayout(transform), matrix.x, matrix.rows);
    return createPredictor(body).predict(rows, matrix.rows);
  }
  const weightData = body.weightData.buffer.slice(
    body.weightData.byteOffset,
    body.weightData.byteOffset + body.weightData.byteLength,
  ) as ArrayBuffer;
  const network = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: body.modelTopology as tfType.io.ModelArtifacts['modelTopology'],
      weightSpecs: body.weightSpecs as unknown as tfType.io.WeightsManifestEntry[],
      weightData,
    }),
  );
  try {
    return predictBatched(tf, network, matrix.x, matrix.rows, matrix.width);
  } finally {
    network.dispose();
  }
}
