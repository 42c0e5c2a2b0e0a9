import type { GbdtObjective } from '../../../lib/model/gbdt/forest.js';

/**
 * The three losses the learner boosts, as gradient/hessian per row and a mean loss for early stopping:
 * binary log loss on a log-odds score, softmax cross-entropy on K class scores (one tree per class per
 * round), and squared error. Row weights (class weights) scale both gradient and hessian.
 */

/** The starting score: log-odds of the (weighted) base rate, log class priors, or the mean. */
export function initialScores(
  objective: GbdtObjective,
  y: Float32Array,
  w: Float32Array | undefined,
  rows: number,
  outputs: number,
): Float64Array {
  const init = new Float64Array(outputs);
  let total = 0;
  const sums = new Float64Array(outputs);
  for (let i = 0; i < rows; i++) {
    const weight = w ? w[i]! : 1;
    total += weight;
    if (objective === 'multiclass') sums[y[i]!] = sums[y[i]!]! + weight;
    else sums[0] = sums[0]! + weight * y[i]!;
  }
  if (total === 0) return init;
  const clamp = (p: number) => Math.min(Math.max(p, 1e-15), 1 - 1e-15);
  switch (objective) {
    case 'binary': {
      const p = clamp(sums[0]! / total);
      init[0] = Math.log(p / (1 - p));
      break;
    }
    case 'multiclass':
      for (let k = 0; k < outputs; k++) init[k] = Math.log(clamp(sums[k]! / total));
      break;
    case 'regression':
      init[0] = sums[0]! / total;
      break;
  }
  return init;
}

/** Gradients and hessians of output `k` at the current scores, into `g` and `h`. */
export function gradients(
  objective: GbdtObjective,
  scores: Float64Array,
  y: Float32Array,
  w: Float32Array | undefined,
  rows: number,
  outputs: number,
  k: number,
  g: Float64Array,
  h: Float64Array,
): void {
  switch (objective) {
    case 'binary':
      for (let i = 0; i < rows; i++) {
        const p = 1 / (1 + Math.exp(-scores[i]!));
        const weight = w ? w[i]! : 1;
        g[i] = (p - y[i]!) * weight;
        h[i] = Math.max(p * (1 - p), 1e-16) * weight;
      }
      return;
    case 'regression':
      for (let i = 0; i < rows; i++) {
        const weight = w ? w[i]! : 1;
        g[i] = (scores[i]! - y[i]!) * weight;
        h[i] = weight;
      }
      return;
    case 'multiclass': {
      const factor = outputs / (outputs - 1);
      for (let i = 0; i < rows; i++) {
        const base = i * outputs;
        let max = -Infinity;
        for (let c = 0; c < outputs; c++) max = Math.max(max, scores[base + c]!);
        let sum = 0;
        for (let c = 0; c < outputs; c++) sum += Math.exp(scores[base + c]! - max);
        const p = Math.exp(scores[base + k]! - max) / sum;
        const weight = w ? w[i]! : 1;
        g[i] = (p - (y[i] === k ? 1 : 0)) * weight;
        h[i] = Math.max(factor * p * (1 - p), 1e-16) * weight;
      }
      return;
    }
  }
}

/** Mean (weighted) loss: log loss, multi-class log loss, or mean squared error. */
export function meanLoss(
  objective: GbdtObjective,
  scores: Float64Array,
  y: Float32Array,
  w: Float32Array | undefined,
  rows: number,
  outputs: number,
): number {
  let total = 0;
  let weights = 0;
  for (let i = 0; i < rows; i++) {
    const weight = w ? w[i]! : 1;
    let loss: number;
    switch (objective) {
      case 'binary': {
        const s = scores[i]!;
        loss = Math.max(s, 0) - s * y[i]! + Math.log1p(Math.exp(-Math.abs(s)));
        break;
      }
      case 'regression': {
        const d = scores[i]! - y[i]!;
        loss = d * d;
        break;
      }
      case 'multiclass': {
        const base = i * outputs;
        let max = -Infinity;
        for (let c = 0; c < outputs; c++) max = Math.max(max, scores[base + c]!);
        let sum = 0;
        for (let c = 0; c < outputs; c++) sum += Math.exp(scores[base + c]! - max);
        loss = max + Math.log(sum) - scores[base + y[i]!]!;
        break;
      }
    }
    total += weight * loss;
    weights += weight;
  }
  return weights === 0 ? NaN : total / weights;
}
