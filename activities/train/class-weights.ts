import { InvalidInputError } from '../../pipelines/errors.js';
import type { TrainerSpec } from '../../pipelines/train-spec.js';
import type { FittedLabel } from '../../pipelines/transform.js';
import type { Matrix } from './load-matrix.js';
import type { TrainingData } from './trainer.js';

/** Weight per class index, from the training split's class counts; undefined when every row weighs 1. */
export function classWeights(spec: TrainerSpec, label: FittedLabel, train: Matrix): number[] | undefined {
  if (spec.classWeight === 'none' || label.task === 'regression') return undefined;
  const counts = new Float64Array(label.classes.length);
  for (let i = 0; i < train.rows; i++)
    counts[train.y[i] as number] = (counts[train.y[i] as number] as number) + 1;
  return classWeightsFromCounts(spec, label, counts, train.rows);
}

/**
 * Weight per class index from rows per class index (`counts`, over `rows` training rows): what
 * {@link classWeights} computes from a matrix, for a streamed split whose counts come from SQL.
 */
export function classWeightsFromCounts(
  spec: TrainerSpec,
  label: FittedLabel,
  counts: Float64Array,
  rows: number,
): number[] | undefined {
  if (spec.classWeight === 'none' || label.task === 'regression') return undefined;
  if (spec.classWeight === 'balanced') {
    return Array.from(counts, (n) => (n === 0 ? 0 : rows / (label.classes.length * n)));
  }
  const given = spec.classWeight;
  const unknown = Object.keys(given).filter((k) => !label.classes.includes(k));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `classWeight names ${unknown.map((k) => `"${k}"`).join(', ')}, which ${unknown.length > 1 ? 'are not classes' : 'is not a class'}: the classes are ${label.classes.join(', ')}`,
    );
  }
  return label.classes.map((c) => given[c] ?? 1);
}

/** Per-row weights from per-class weights (training and validation alike). */
export function rowWeights(perClass: number[] | undefined, matrix: Matrix): Float32Array | undefined {
  if (!perClass) return undefined;
  const w = new Float32Array(matrix.rows);
  for (let i = 0; i < matrix.rows; i++) w[i] = perClass[matrix.y[i] as number] as number;
  return w;
}

/** Training targets: regression labels standardised with the training split's scale. */
export function targets(matrix: Matrix, label: FittedLabel, w: Float32Array | undefined): TrainingData {
  let y = matrix.y;
  if (label.scale) {
    const { mean, std } = label.scale;
    y = matrix.y.map((v) => (v - mean) / std);
  }
  return { x: matrix.x, y, rows: matrix.rows, width: matrix.width, ...(w === undefined ? {} : { w }) };
}
