import { describe, expect, it } from 'vitest';
import { binaryMetrics, reliabilityCurve, sortByScore } from '../../activities/evaluate/binary-metrics.js';
import { bootstrap } from '../../activities/evaluate/bootstrap.js';
import { fairnessGroups, fairnessSummary } from '../../activities/evaluate/fairness.js';
import { multiclassMetrics, oneVsRest } from '../../activities/evaluate/multiclass-metrics.js';
import { regressionMetrics } from '../../activities/evaluate/regression-metrics.js';
import { blessModel } from '../../pipelines/blessing.js';
import { blessSchema, type EvaluationSummary } from '../../pipelines/evaluation.js';

const f32 = (values: number[]) => Float32Array.from(values);

describe('binary metrics, against values worked out by hand', () => {
  // Sorted by score: .95+ .85− .75+ .65+ .55− .35− .25+ .15−  (4 positives, 4 negatives; scores kept
  // off the calibration bins' edges, where float32 rounding would move them to the bin below).
  const y = f32([1, 0, 1, 1, 0, 0, 1, 0]);
  const p = f32([0.95, 0.85, 0.75, 0.65, 0.55, 0.35, 0.25, 0.15]);
  const m = binaryMetrics(y, p, sortByScore(p), 0.5);

  it('ranking: ROC-AUC = pairs ranked right / all pairs; PR-AUC = average precision', () => {
    // Positive .95 beats 4 negatives, .75 beats 3, .65 beats 3, .25 beats 1: 11 of 16 pairs.
    expect(m.auc).toBeCloseTo(11 / 16, 6);
    // Precision at each positive: 1/1, 2/3, 3/4, 4/7; each adds a quarter of recall.
    expect(m.prAuc).toBeCloseTo((1 + 2 / 3 + 3 / 4 + 4 / 7) / 4, 6);
  });

  it('at threshold 0.5: confusion matrix, accuracy, precision, recall, F1', () => {
    expect(m.confusion).toEqual({ tp: 3, fp: 2, tn: 2, fn: 1 });
    expect(m.accuracy).toBeCloseTo(5 / 8, 6);
    expect(m.precision).toBeCloseTo(3 / 5, 6);
    expect(m.recall).toBeCloseTo(3 / 4, 6);
    expect(m.f1).toBeCloseTo(2 / 3, 6);
  });

  it('probabilities: log loss, Brier score, expected calibration error', () => {
    const probabilityOfTruth = [0.95, 0.15, 0.75, 0.65, 0.45, 0.65, 0.25, 0.85];
    expect(m.logLoss).toBeCloseTo(-probabilityOfTruth.reduce((s, q) => s + Math.log(q), 0) / 8, 6);
    expect(m.brier).toBeCloseTo(
      (0.0025 + 0.7225 + 0.0625 + 0.1225 + 0.3025 + 0.1225 + 0.5625 + 0.0225) / 8,
      6,
    );
    // One row per bin: ECE is the mean |label − score| = (.05+.85+.25+.35+.55+.35+.75+.15) / 8.
    expect(m.ece).toBeCloseTo(3.3 / 8, 6);
    const curve = reliabilityCurve(y, p);
    expect(curve[9]).toMatchObject({ rows: 1, observed: 1 });
    expect(curve[9]!.meanPredicted).toBeCloseTo(0.95, 6);
    expect(curve[0]).toMatchObject({ rows: 0, observed: null });
  });

  it('ties count half; one class only leaves AUC undefined; weights act as repeated rows', () => {
    const tied = f32([0.5, 0.5, 0.5, 0.5]);
    expect(binaryMetrics(f32([1, 0, 1, 0]), tied, sortByScore(tied), 0.5).auc).toBe(0.5);
    const ones = f32([1, 1]);
    expect(binaryMetrics(ones, f32([0.2, 0.8]), sortByScore(f32([0.2, 0.8])), 0.5).auc).toBeNull();
    // Row 0 twice and row 1 dropped equals the explicit resample.
    const weighted = binaryMetrics(y, p, sortByScore(p), 0.5, Float64Array.from([2, 0, 1, 1, 1, 1, 1, 1]));
    const yr = f32([1, 1, 1, 1, 0, 0, 1, 0]);
    const pr = f32([0.95, 0.95, 0.75, 0.65, 0.55, 0.35, 0.25, 0.15]);
    expect(weighted).toEqual(binaryMetrics(yr, pr, sortByScore(pr), 0.5));
  });
});

describe('multi-class and regression metrics', () => {
  it('multi-class: accuracy, log loss, macro one-vs-rest AUC, macro P/R/F1, Brier, confusion matrix', () => {
    const y = f32([0, 1, 2, 1]);
    const p = f32([0.7, 0.2, 0.1, 0.1, 0.6, 0.3, 0.2, 0.5, 0.3, 0.3, 0.3, 0.4]);
    const m = multiclassMetrics(y, p, 3, oneVsRest(y, p, 3));
    expect(m.confusion).toEqual([
      [1, 0, 0],
      [0, 1, 1],
      [0, 1, 0],
    ]);
    expect(m.accuracy).toBe(0.5);
    expect(m.logLoss).toBeCloseTo(-(Math.log(0.7) + Math.log(0.6) + 2 * Math.log(0.3)) / 4, 6);
    // Class AUCs: 1 (0.7 tops all), 3/4 (0.3 loses to 0.5), 1/2 (0.3 beats 0.1, ties 0.3, loses to 0.4).
    expect(m.auc).toBeCloseTo((1 + 0.75 + 0.5) / 3, 6);
    expect(m.precision).toBeCloseTo((1 + 0.5 + 0) / 3, 6);
    expect(m.recall).toBeCloseTo((1 + 0.5 + 0) / 3, 6);
    expect(m.f1).toBeCloseTo((1 + 0.5 + 0) / 3, 6);
    expect(m.brier).toBeCloseTo((0.14 + 0.26 + 0.78 + 0.74) / 4, 6);
  });

  it('regression: RMSE, MAE, R²', () => {
    const m = regressionMetrics(f32([1, 2, 3, 4]), f32([1.5, 2, 2, 5]));
    expect(m.rmse).toBeCloseTo(Math.sqrt((0.25 + 0 + 1 + 1) / 4), 6);
    expect(m.mae).toBeCloseTo(2.5 / 4, 6);
    expect(m.r2).toBeCloseTo(1 - 2.25 / 5, 6);
  });
});

describe('fairness', () => {
  it('selection rate, TPR and FPR per group; parity and equalized-odds gaps across groups', () => {
    const y = f32([1, 0, 1, 0, 1, 0]);
    const p = f32([0.9, 0.8, 0.3, 0.2, 0.7, 0.6]);
    const groups = fairnessGroups(y, p, ['a', 'a', 'a', 'b', 'b', 'b'], 0.5);
    expect(groups).toEqual([
      { value: 'a', rows: 3, selectionRate: 2 / 3, truePositiveRate: 0.5, falsePositiveRate: 1 },
      { value: 'b', rows: 3, selectionRate: 2 / 3, truePositiveRate: 1, falsePositiveRate: 0.5 },
    ]);
    expect(fairnessSummary(groups)).toEqual({
      demographicParityDifference: 0,
      demographicParityRatio: 1,
      equalizedOddsDifference: 0.5,
    });
  });
});

describe('bootstrap', () => {
  it('is seeded, brackets the estimate, and narrows with more rows', () => {
    const make = (n: number) => {
      const y = Float32Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 1 : 0));
      const p = Float32Array.from(
        { length: n },
        (_, i) => (((i * 7919) % 1000) / 1000) * 0.6 + (i % 3 === 0 ? 0.3 : 0),
      );
      const order = sortByScore(p);
      return {
        estimate: binaryMetrics(y, p, order, 0.5).auc!,
        ci: bootstrap(n, 200, 11, (w) => ({ auc: binaryMetrics(y, p, order, 0.5, w).auc })),
      };
    };
    const small = make(300);
    expect(make(300).ci).toEqual(small.ci);
    expect(small.ci['auc']!.lo!).toBeLessThan(small.estimate);
    expect(small.ci['auc']!.hi!).toBeGreaterThan(small.estimate);
    const large = make(3000);
    expect(large.ci['auc']!.hi! - large.ci['auc']!.lo!).toBeLessThan(
      (small.ci['auc']!.hi! - small.ci['auc']!.lo!) / 2,
    );
  });
});

describe('blessing', () => {
  const evaluation: Pick<EvaluationSummary, 'metrics' | 'production' | 'fairness' | 'slices'> = {
    metrics: { auc: { value: 0.7, lo: 0.6, hi: 0.8 }, logLoss: { value: 0.5, lo: 0.45, hi: 0.55 } },
    production: null,
    fairness: [
      {
        column: 'sex',
        groups: [],
        summary: {
          demographicParityDifference: { value: 0.15, lo: 0.1, hi: 0.2 },
          demographicParityRatio: { value: 0.8, lo: 0.7, hi: 0.9 },
          equalizedOddsDifference: { value: 0.05, lo: 0, hi: 0.1 },
        },
      },
    ],
    slices: [
      { slice: 'origin', value: 'ATL', rows: 500, metrics: { auc: 0.66 } },
      { slice: 'origin', value: 'XNA', rows: 3, metrics: { auc: 0.1 } },
    ],
  };

  it('lists every check with its numbers; blessed only if all pass', () => {
    const spec = blessSchema.parse({
      auc: { min: 0.65 },
      logLoss: { max: 0.6 },
      vsProduction: { auc: { minDelta: 0 } },
      fairness: { demographicParityDifference: { max: 0.1 } },
      slices: { minRows: 30, metrics: { auc: { min: 0.6 } } },
    });
    const verdict = blessModel(evaluation, spec);
    expect(verdict.blessed).toBe(false);
    expect(verdict.reasons.map((r) => [r.check, r.passed])).toEqual([
      ['auc min', true],
      ['logLoss max', true],
      ['auc vs production', true],
      ['demographicParityDifference across sex max', false],
      ['auc on origin=ATL min', true],
    ]);
    expect(verdict.reasons[3]!.message).toBe('demographicParityDifference across sex 0.15 > maximum 0.1');
    expect(verdict.reasons[2]!.message).toMatch(/no production model yet/);
  });

  it('compares with production in each metric’s good direction, and can demand the interval’s bound', () => {
    const withProduction = {
      ...evaluation,
      production: {
        model: {
          uri: 'file:///m',
          sha256: 'a'.repeat(64),
          kind: 'model' as const,
          format: 'json' as const,
          bytes: 1,
        },
        metrics: { auc: { value: 0.72, lo: 0.62, hi: 0.82 }, logLoss: { value: 0.55, lo: 0.5, hi: 0.6 } },
        delta: { auc: { value: -0.02, lo: -0.04, hi: 0 }, logLoss: { value: -0.05, lo: -0.07, hi: -0.03 } },
      },
    };
    const verdict = blessModel(
      withProduction,
      blessSchema.parse({ vsProduction: { auc: { minDelta: 0 }, logLoss: { minDelta: 0.01 } } }),
    );
    expect(verdict.reasons.map((r) => [r.check, r.passed, r.observed])).toEqual([
      ['auc vs production', false, -0.02],
      ['logLoss vs production', true, 0.05],
    ]);
    const strict = blessModel(evaluation, blessSchema.parse({ auc: { min: 0.65 }, useLowerBound: true }));
    expect(strict.blessed).toBe(false);
    expect(strict.reasons[0]!.message).toBe('auc (95% interval bound) 0.6 < minimum 0.65');
  });
});
