import type { FairnessGroup, FairnessMetricName } from '../../pipelines/evaluation.js';

/**
 * Fairness of a binary classifier across the values of one group column, as Fairlearn defines it:
 * per group the selection rate (share predicted positive), true-positive rate and false-positive
 * rate; across groups the demographic-parity difference (max − min selection rate) and ratio (min /
 * max), and the equalized-odds difference (the larger of the TPR and FPR gaps). Weighted for the bootstrap.
 */
export function fairnessGroups(
  y: Float32Array,
  p: Float32Array,
  groups: readonly (string | null)[],
  threshold: number,
  weights?: Float64Array,
): FairnessGroup[] {
  const stats = new Map<
    string,
    { rows: number; selected: number; tp: number; positives: number; fp: number; negatives: number }
  >();
  for (let i = 0; i < y.length; i++) {
    const w = weights ? (weights[i] as number) : 1;
    if (w === 0) continue;
    const key = groups[i] ?? '(missing)';
    let s = stats.get(key);
    if (!s) stats.set(key, (s = { rows: 0, selected: 0, tp: 0, positives: 0, fp: 0, negatives: 0 }));
    const predicted = (p[i] as number) >= threshold ? 1 : 0;
    s.rows += w;
    s.selected += w * predicted;
    if (y[i] === 1) {
      s.positives += w;
      s.tp += w * predicted;
    } else {
      s.negatives += w;
      s.fp += w * predicted;
    }
  }
  return [...stats.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([value, s]) => ({
      value,
      rows: s.rows,
      selectionRate: s.rows > 0 ? s.selected / s.rows : null,
      truePositiveRate: s.positives > 0 ? s.tp / s.positives : null,
      falsePositiveRate: s.negatives > 0 ? s.fp / s.negatives : null,
    }));
}

export function fairnessSummary(groups: readonly FairnessGroup[]): Record<FairnessMetricName, number | null> {
  const spread = (values: (number | null)[]) => {
    const present = values.filter((v): v is number => v !== null);
    return present.length < 2 ? null : { min: Math.min(...present), max: Math.max(...present) };
  };
  const selection = spread(groups.map((g) => g.selectionRate));
  const tpr = spread(groups.map((g) => g.truePositiveRate));
  const fpr = spread(groups.map((g) => g.falsePositiveRate));
  const gaps = [tpr && tpr.max - tpr.min, fpr && fpr.max - fpr.min].filter((v): v is number => v !== null);
  return {
    demographicParityDifference: selection && selection.max - selection.min,
    demographicParityRatio: selection && selection.max > 0 ? selection.min / selection.max : null,
    equalizedOddsDifference: gaps.length > 0 ? Math.max(...gaps) : null,
  };
}
