/**
 * Binary classification metrics on typed arrays, with optional per-row weights. Weights are how the
 * bootstrap resamples (a row drawn k times weighs k) without copying or re-sorting: rows are sorted by
 * score once ({@link sortByScore}) and every replicate walks the same order.
 *
 * Definitions follow scikit-learn: ROC-AUC by the trapezoid rule over distinct thresholds (ties count
 * half), PR-AUC as average precision Σ (Rₙ − Rₙ₋₁) Pₙ, log loss with p clipped to [1e-15, 1 − 1e-15],
 * expected calibration error over ten equal-width bins weighted by their share of rows.
 */
export interface BinaryMetrics {
  auc: number | null;
  prAuc: number | null;
  logLoss: number;
  accuracy: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  brier: number;
  ece: number;
  confusion: { tp: number; fp: number; tn: number; fn: number };
}

const EPS = 1e-15;
export const CALIBRATION_BINS = 10;

/** Row indices by descending score: computed once per model, shared by every bootstrap replicate. */
export function sortByScore(p: Float32Array): Uint32Array {
  const order = Uint32Array.from({ length: p.length }, (_, i) => i);
  return order.sort((a, b) => (p[b] as number) - (p[a] as number) || a - b);
}

export function binaryMetrics(
  y: Float32Array,
  p: Float32Array,
  order: Uint32Array,
  threshold: number,
  weights?: Float64Array,
): BinaryMetrics {
  const n = y.length;
  let positives = 0;
  let total = 0;
  let logLoss = 0;
  let brier = 0;
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  const binCount = new Float64Array(CALIBRATION_BINS);
  const binLabel = new Float64Array(CALIBRATION_BINS);
  const binScore = new Float64Array(CALIBRATION_BINS);
  for (let i = 0; i < n; i++) {
    const w = weights ? (weights[i] as number) : 1;
    if (w === 0) continue;
    const label = y[i] as number;
    const score = p[i] as number;
    total += w;
    positives += w * label;
    const clipped = Math.min(Math.max(score, EPS), 1 - EPS);
    logLoss -= w * (label * Math.log(clipped) + (1 - label) * Math.log(1 - clipped));
    brier += w * (score - label) ** 2;
    const predicted = score >= threshold;
    if (predicted && label === 1) tp += w;
    else if (predicted) fp += w;
    else if (label === 1) fn += w;
    else tn += w;
    const bin = Math.min(Math.floor(score * CALIBRATION_BINS), CALIBRATION_BINS - 1);
    binCount[bin] = (binCount[bin] as number) + w;
    binLabel[bin] = (binLabel[bin] as number) + w * label;
    binScore[bin] = (binScore[bin] as number) + w * score;
  }
  const negatives = total - positives;
  let ece = 0;
  for (let b = 0; b < CALIBRATION_BINS; b++) {
    const count = binCount[b] as number;
    if (count > 0) ece += Math.abs((binLabel[b] as number) - (binScore[b] as number)) / total;
  }
  const { auc, ap } = rankingMetrics(y, p, order, positives, negatives, weights);
  const precision = tp + fp > 0 ? tp / (tp + fp) : null;
  const recall = positives > 0 ? tp / positives : null;
  const f1 =
    precision !== null && recall !== null && precision + recall > 0
      ? (2 * precision * recall) / (precision + recall)
      : null;
  return {
    auc,
    prAuc: ap,
    logLoss: logLoss / total,
    accuracy: (tp + tn) / total,
    precision,
    recall,
    f1,
    brier: brier / total,
    ece,
    confusion: { tp, fp, tn, fn },
  };
}

/** ROC-AUC and average precision in one walk down the sorted scores, tied scores as one threshold. */
function rankingMetrics(
  y: Float32Array,
  p: Float32Array,
  order: Uint32Array,
  positives: number,
  negatives: number,
  weights: Float64Array | undefined,
): { auc: number | null; ap: number | null } {
  if (positives === 0 || negatives === 0) return { auc: null, ap: positives > 0 ? 1 : null };
  let tp = 0;
  let fp = 0;
  let area = 0;
  let ap = 0;
  for (let i = 0; i < order.length;) {
    const score = p[order[i] as number] as number;
    let groupTp = 0;
    let groupFp = 0;
    while (i < order.length && p[order[i] as number] === score) {
      const row = order[i] as number;
      const w = weights ? (weights[row] as number) : 1;
      if (y[row] === 1) groupTp += w;
      else groupFp += w;
      i++;
    }
    area += groupFp * (tp + groupTp / 2);
    tp += groupTp;
    fp += groupFp;
    if (groupTp > 0) ap += (groupTp / positives) * (tp / (tp + fp));
  }
  return { auc: area / (positives * negatives), ap };
}

/** Points of the ROC and precision–recall curves (at most `maxPoints` each), for charts. */
export function binaryCurves(
  y: Float32Array,
  p: Float32Array,
  order: Uint32Array,
  maxPoints = 200,
): {
  roc: { fpr: number; tpr: number; threshold: number }[];
  pr: { recall: number; precision: number; threshold: number }[];
} {
  let positives = 0;
  for (const label of y) positives += label;
  const negatives = y.length - positives;
  const roc = [{ fpr: 0, tpr: 0, threshold: 1 }];
  const pr: { recall: number; precision: number; threshold: number }[] = [];
  const every = Math.max(1, Math.floor(order.length / maxPoints));
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < order.length;) {
    const score = p[order[i] as number] as number;
    while (i < order.length && p[order[i] as number] === score) {
      if (y[order[i] as number] === 1) tp++;
      else fp++;
      i++;
    }
    if (i === order.length || i % every === 0 || i < every) {
      roc.push({
        fpr: negatives > 0 ? fp / negatives : 0,
        tpr: positives > 0 ? tp / positives : 0,
        threshold: score,
      });
      pr.push({ recall: positives > 0 ? tp / positives : 0, precision: tp / (tp + fp), threshold: score });
    }
  }
  return { roc, pr };
}

/** Mean predicted probability against observed frequency per bin: the reliability diagram. */
export function reliabilityCurve(
  y: Float32Array,
  p: Float32Array,
): {
  bin: number;
  from: number;
  to: number;
  rows: number;
  meanPredicted: number | null;
  observed: number | null;
}[] {
  const rows = new Float64Array(CALIBRATION_BINS);
  const labels = new Float64Array(CALIBRATION_BINS);
  const scores = new Float64Array(CALIBRATION_BINS);
  for (let i = 0; i < y.length; i++) {
    const score = p[i] as number;
    const bin = Math.min(Math.floor(score * CALIBRATION_BINS), CALIBRATION_BINS - 1);
    rows[bin] = (rows[bin] as number) + 1;
    labels[bin] = (labels[bin] as number) + (y[i] as number);
    scores[bin] = (scores[bin] as number) + score;
  }
  return Array.from({ length: CALIBRATION_BINS }, (_, bin) => {
    const count = rows[bin] as number;
    return {
      bin,
      from: bin / CALIBRATION_BINS,
      to: (bin + 1) / CALIBRATION_BINS,
      rows: count,
      meanPredicted: count > 0 ? (scores[bin] as number) / count : null,
      observed: count > 0 ? (labels[bin] as number) / count : null,
    };
  });
}
