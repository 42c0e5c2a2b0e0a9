import type { FittedCalibration } from '../../pipelines/model.js';

/**
 * Probability calibration for binary models (docs/training.md, "Calibration"): fitted on the validation
 * split after training, stored in the model manifest, and applied by batch evaluation and serving alike
 * through {@link applyCalibration}, so both return the same calibrated P(positive). Pure arithmetic over
 * typed arrays: the same scores and labels give the same calibrator, bit for bit.
 */

/** Scores are clipped this far from 0 and 1 before taking their logit. */
const CLIP = 1e-7;
const MAX_NEWTON_STEPS = 100;

const logit = (p: number): number => {
  const q = Math.min(Math.max(p, CLIP), 1 - CLIP);
  return Math.log(q / (1 - q));
};
const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
/** log(1 + e^z) without overflow. */
const softplus = (z: number): number => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));

/**
 * Platt scaling: `sigmoid(a · logit(p) + b)` fitted by Newton's method with a backtracking line search
 * (Lin, Lin & Weng 2007), on Platt's smoothed targets (N₊ + 1)/(N₊ + 2) and 1/(N₋ + 2), which keep a
 * perfectly separated validation split from sending `a` to infinity. Monotone increasing when `a > 0`,
 * which it is for any model that ranks better than chance; it never reorders rows, so AUC is unchanged.
 */
export function fitPlatt(
  scores: Float32Array,
  labels: Float32Array,
): FittedCalibration & { method: 'platt' } {
  const n = scores.length;
  const f = new Float64Array(n);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    f[i] = logit(scores[i] as number);
    positives += labels[i] === 1 ? 1 : 0;
  }
  const negatives = n - positives;
  const hi = (positives + 1) / (positives + 2);
  const lo = 1 / (negatives + 2);
  const target = (i: number) => (labels[i] === 1 ? hi : lo);
  const loss = (a: number, b: number) => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      const z = a * (f[i] as number) + b;
      const t = target(i);
      total += t * softplus(-z) + (1 - t) * softplus(z);
    }
    return total;
  };
  let a = 0;
  let b = Math.log((positives + 1) / (negatives + 1));
  let current = loss(a, b);
  for (let step = 0; step < MAX_NEWTON_STEPS; step++) {
    let ga = 0;
    let gb = 0;
    let haa = 1e-12;
    let hab = 0;
    let hbb = 1e-12;
    for (let i = 0; i < n; i++) {
      const fi = f[i] as number;
      const q = sigmoid(a * fi + b);
      const r = q - target(i);
      const h = q * (1 - q);
      ga += r * fi;
      gb += r;
      haa += h * fi * fi;
      hab += h * fi;
      hbb += h;
    }
    if (Math.abs(ga) < 1e-9 * Math.max(1, n) && Math.abs(gb) < 1e-9 * Math.max(1, n)) break;
    const det = haa * hbb - hab * hab;
    const da = -(hbb * ga - hab * gb) / det;
    const db = -(haa * gb - hab * ga) / det;
    const slope = ga * da + gb * db;
    let t = 1;
    let next = loss(a + t * da, b + t * db);
    while (next > current + 1e-4 * t * slope && t > 1e-10) {
      t /= 2;
      next = loss(a + t * da, b + t * db);
    }
    if (t <= 1e-10) break;
    a += t * da;
    b += t * db;
    const improved = current - next;
    current = next;
    if (improved <= 1e-12 * Math.max(1, Math.abs(current))) break;
  }
  return { method: 'platt', a, b, rows: n };
}

/**
 * Isotonic regression by pool-adjacent-violators: the non-decreasing step function of the score that
 * minimises squared error against the labels. Equal scores are pooled first, so the function is one of
 * the score. Stored as points (each block's lowest and highest score, both at the block's mean label);
 * applied by linear interpolation between points and clamped to the end values outside them.
 */
export function fitIsotonic(
  scores: Float32Array,
  labels: Float32Array,
): FittedCalibration & { method: 'isotonic' } {
  const n = scores.length;
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort(
    (i, j) => (scores[i] as number) - (scores[j] as number) || i - j,
  );
  // Blocks as parallel stacks: weight, label sum, lowest and highest score.
  const weight: number[] = [];
  const sum: number[] = [];
  const low: number[] = [];
  const high: number[] = [];
  for (let k = 0; k < n; k++) {
    const i = order[k] as number;
    const score = scores[i] as number;
    const label = labels[i] as number;
    const top = weight.length - 1;
    if (top >= 0 && high[top] === score) {
      weight[top] = (weight[top] as number) + 1;
      sum[top] = (sum[top] as number) + label;
    } else {
      weight.push(1);
      sum.push(label);
      low.push(score);
      high.push(score);
    }
    // Pool while the block before has a higher mean than the last one.
    while (weight.length > 1) {
      const last = weight.length - 1;
      const before = last - 1;
      if (
        (sum[before] as number) / (weight[before] as number) <=
        (sum[last] as number) / (weight[last] as number)
      )
        break;
      weight[before] = (weight[before] as number) + (weight.pop() as number);
      sum[before] = (sum[before] as number) + (sum.pop() as number);
      high[before] = high.pop() as number;
      low.pop();
    }
  }
  const x: number[] = [];
  const y: number[] = [];
  for (let k = 0; k < weight.length; k++) {
    const mean = (sum[k] as number) / (weight[k] as number);
    x.push(low[k] as number);
    y.push(mean);
    if ((high[k] as number) > (low[k] as number)) {
      x.push(high[k] as number);
      y.push(mean);
    }
  }
  return { method: 'isotonic', x, y, rows: n };
}

/** One probability through a fitted calibration. */
export function calibrateOne(calibration: FittedCalibration, p: number): number {
  if (Number.isNaN(p)) return p;
  if (calibration.method === 'platt') return sigmoid(calibration.a * logit(p) + calibration.b);
  const { x, y } = calibration;
  const last = x.length - 1;
  if (last < 0) return p;
  if (p <= (x[0] as number)) return y[0] as number;
  if (p >= (x[last] as number)) return y[last] as number;
  // The last point at or below p (x is sorted ascending; equal x values carry equal y).
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((x[mid] as number) <= p) lo = mid;
    else hi = mid;
  }
  const x0 = x[lo] as number;
  const x1 = x[hi] as number;
  const y0 = y[lo] as number;
  const y1 = y[hi] as number;
  return x1 === x0 ? y1 : y0 + ((p - x0) / (x1 - x0)) * (y1 - y0);
}

/** P(positive) for every row through the calibration (a new array; `scores` is left as it was). */
export function applyCalibration(calibration: FittedCalibration, scores: Float32Array): Float32Array {
  const out = new Float32Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = calibrateOne(calibration, scores[i] as number);
  return out;
}

/** Fit the named method on validation scores and 0/1 labels. */
export function fitCalibration(
  method: FittedCalibration['method'],
  scores: Float32Array,
  labels: Float32Array,
): FittedCalibration {
  return method === 'platt' ? fitPlatt(scores, labels) : fitIsotonic(scores, labels);
}
