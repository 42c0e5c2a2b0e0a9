import { binaryMetrics, CALIBRATION_BINS, sortByScore } from './binary-metrics.js';

/**
 * Multi-class metrics on a row-major probability matrix (`rows × classes`), with optional weights for
 * the bootstrap. `auc` is the macro average of one-vs-rest ROC-AUCs; precision, recall and F1 are
 * macro averages over classes; Brier is Σₖ (pₖ − yₖ)² averaged over rows; ECE uses the top-class
 * confidence against whether the top class was right.
 */
export interface MulticlassMetrics {
  auc: number | null;
  logLoss: number;
  accuracy: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  brier: number;
  ece: number;
  /** `confusion[actual][predicted]`, weighted counts. */
  confusion: number[][];
}

/** Per-class one-vs-rest views, sorted once: the bootstrap reuses them. */
export interface OneVsRest {
  labels: Float32Array[];
  scores: Float32Array[];
  orders: Uint32Array[];
}

export function oneVsRest(y: Float32Array, p: Float32Array, classes: number): OneVsRest {
  const labels: Float32Array[] = [];
  const scores: Float32Array[] = [];
  for (let k = 0; k < classes; k++) {
    labels.push(y.map((v) => (v === k ? 1 : 0)));
    scores.push(Float32Array.from({ length: y.length }, (_, i) => p[i * classes + k] as number));
  }
  return { labels, scores, orders: scores.map(sortByScore) };
}

export function multiclassMetrics(
  y: Float32Array,
  p: Float32Array,
  classes: number,
  ovr: OneVsRest,
  weights?: Float64Array,
): MulticlassMetrics {
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let total = 0;
  let logLoss = 0;
  let brier = 0;
  let correct = 0;
  const binCount = new Float64Array(CALIBRATION_BINS);
  const binCorrect = new Float64Array(CALIBRATION_BINS);
  const binScore = new Float64Array(CALIBRATION_BINS);
  for (let i = 0; i < y.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    if (w === 0) continue;
    const actual = y[i] as number;
    let best = 0;
    for (let k = 0; k < classes; k++) {
      const pk = p[i * classes + k] as number;
      if (pk > (p[i * classes + best] as number)) best = k;
      brier += w * (pk - (k === actual ? 1 : 0)) ** 2;
    }
    const pActual = Math.min(Math.max(p[i * classes + actual] as number, 1e-15), 1 - 1e-15);
    logLoss -= w * Math.log(pActual);
    total += w;
    const row = confusion[actual] as number[];
    row[best] = (row[best] as number) + w;
    const hit = best === actual ? 1 : 0;
    correct += w * hit;
    const confidence = p[i * classes + best] as number;
    const bin = Math.min(Math.floor(confidence * CALIBRATION_BINS), CALIBRATION_BINS - 1);
    binCount[bin] = (binCount[bin] as number) + w;
    binCorrect[bin] = (binCorrect[bin] as number) + w * hit;
    binScore[bin] = (binScore[bin] as number) + w * confidence;
  }
  let ece = 0;
  for (let b = 0; b < CALIBRATION_BINS; b++)
    ece += Math.abs((binCorrect[b] as number) - (binScore[b] as number)) / total;

  const precisions: number[] = [];
  const recalls: number[] = [];
  const f1s: number[] = [];
  const aucs: number[] = [];
  for (let k = 0; k < classes; k++) {
    const tp = confusion[k]?.[k] ?? 0;
    const predicted = confusion.reduce((sum, row) => sum + (row[k] ?? 0), 0);
    const actual = (confusion[k] ?? []).reduce((sum, v) => sum + v, 0);
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = actual > 0 ? tp / actual : 0;
    if (actual > 0) {
      precisions.push(precision);
      recalls.push(recall);
      f1s.push(precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0);
    }
    const auc = binaryMetrics(
      ovr.labels[k] as Float32Array,
      ovr.scores[k] as Float32Array,
      ovr.orders[k] as Uint32Array,
      0.5,
      weights,
    ).auc;
    if (auc !== null) aucs.push(auc);
  }
  const mean = (values: number[]) =>
    values.length > 0 ? values.reduce((a, b) => a + b, 0) / values.length : null;
  return {
    auc: mean(aucs),
    logLoss: logLoss / total,
    accuracy: correct / total,
    precision: mean(precisions),
    recall: mean(recalls),
    f1: mean(f1s),
    brier: brier / total,
    ece,
    confusion,
  };
}
