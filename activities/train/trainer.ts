import type { EpochOrder } from './epoch-order.js';
import type { DenseParams } from './dense-params.js';

/** What the network's last layer does, i.e. which loss it is trained with. */
export type OutputKind = 'sigmoid' | 'softmax' | 'linear';

/** Which implementation trained a model; recorded in its metadata. */
export type EngineName = 'typed-array' | 'tfjs';

/** Training rows: targets are 0/1 (sigmoid), a class index (softmax) or a standardised value (linear). */
export interface TrainingData {
  x: Float32Array;
  y: Float32Array;
  /** Per-row weights from class weights; absent means 1. */
  w?: Float32Array;
  rows: number;
  width: number;
}

/** Everything needed to continue training exactly where it stopped: weights and Adam's moments. */
export interface TrainerState {
  params: DenseParams;
  adam: { m: Float32Array[]; v: Float32Array[]; step: number };
}

export interface TrainerOptions {
  output: OutputKind;
  learningRate: number;
  l2: number;
  /** MLP only: dropout after each hidden layer and its activation. */
  dropout: number;
  activation: 'relu' | 'tanh';
}

/**
 * One optimiser over one dense network. The loop (`training-loop.ts`) owns epochs, order, batching,
 * early stopping and checkpoints; a trainer only steps on a batch and computes logits, so the two
 * engines are interchangeable and compared like for like in the bench.
 */
export interface Trainer {
  readonly engine: EngineName;
  /**
   * One Adam step on `size` rows (`x` row-major, `size × width`). `dropoutSeed` makes the batch's
   * dropout masks reproducible. Returns the summed (weighted) loss of the batch before the step.
   */
  step(
    x: Float32Array,
    y: Float32Array,
    w: Float32Array | undefined,
    size: number,
    dropoutSeed: number,
  ): number;
  /**
   * Optional: the same step on rows `order.rows[start … start+size)` of `data`, read in place instead
   * of copied into a batch. Must give exactly what `step` gives on those rows gathered in that order.
   * `data` must not change during training (a trainer may index it once, in `order.base` order).
   */
  stepRows?(data: TrainingData, order: EpochOrder, start: number, size: number, dropoutSeed: number): number;
  /** Raw outputs (before sigmoid/softmax) for `rows` rows, `rows × units`, computed in batches. */
  logits(x: Float32Array, rows: number): Float32Array;
  state(): TrainerState;
  restore(state: TrainerState): void;
  dispose(): void;
}

export const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;

/**
 * One Adam update of `param` in place, in double precision, from a gradient summed over `size` rows:
 * g = sum / size + l2 · param. `step` is the 1-based count of updates so far (bias correction). Both
 * engines call this, so they optimise identically and a checkpoint's moments mean the same to each.
 */
export function adamStep(
  param: Float32Array,
  gradSum: Float32Array | Float64Array,
  m: Float32Array,
  v: Float32Array,
  size: number,
  l2: number,
  learningRate: number,
  step: number,
): void {
  const lrT = (learningRate * Math.sqrt(1 - ADAM.beta2 ** step)) / (1 - ADAM.beta1 ** step);
  for (let i = 0; i < param.length; i++) {
    const p = param[i] as number;
    const grad = (gradSum[i] as number) / size + l2 * p;
    const mi = ADAM.beta1 * (m[i] as number) + (1 - ADAM.beta1) * grad;
    const vi = ADAM.beta2 * (v[i] as number) + (1 - ADAM.beta2) * grad * grad;
    m[i] = mi;
    v[i] = vi;
    param[i] = p - (lrT * mi) / (Math.sqrt(vi) + ADAM.epsilon);
  }
}

/** Per-row loss from a logit vector, the same definition both engines train on. */
export function rowLoss(
  output: OutputKind,
  z: Float32Array,
  offset: number,
  units: number,
  y: number,
): number {
  switch (output) {
    case 'sigmoid': {
      const v = z[offset] as number;
      return Math.max(v, 0) - v * y + Math.log1p(Math.exp(-Math.abs(v)));
    }
    case 'softmax': {
      let max = -Infinity;
      for (let k = 0; k < units; k++) max = Math.max(max, z[offset + k] as number);
      let sum = 0;
      for (let k = 0; k < units; k++) sum += Math.exp((z[offset + k] as number) - max);
      return max + Math.log(sum) - (z[offset + y] as number);
    }
    case 'linear': {
      const d = (z[offset] as number) - y;
      return d * d;
    }
  }
}

/**
 * Mean (weighted) loss over rows: what early stopping watches on the validation split. With class
 * weights, validation is weighted like training, so early stopping follows the objective being trained.
 */
export function meanLoss(
  output: OutputKind,
  z: Float32Array,
  y: Float32Array,
  rows: number,
  units: number,
  w?: Float32Array,
): number {
  let total = 0;
  let weights = 0;
  for (let i = 0; i < rows; i++) {
    const weight = w ? (w[i] as number) : 1;
    total += weight * rowLoss(output, z, i * units, units, y[i] as number);
    weights += weight;
  }
  return weights === 0 ? NaN : total / weights;
}
