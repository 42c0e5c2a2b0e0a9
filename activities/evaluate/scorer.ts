import type { MetricName } from '../../pipelines/evaluation.js';
import type { TaskKind } from '../../pipelines/train-spec.js';
import { binaryCurves, binaryMetrics, reliabilityCurve, sortByScore } from './binary-metrics.js';
import { multiclassMetrics, oneVsRest } from './multiclass-metrics.js';
import { regressionMetrics } from './regression-metrics.js';

export type MetricValues = Partial<Record<MetricName, number | null>>;

/** Charts and tables that need the whole evaluation set, not a bootstrap replicate. */
export interface ScoreDetails {
  /** `confusion[actual][predicted]` with class names, or null for regression. */
  confusion: { classes: string[]; counts: number[][] } | null;
  roc: { fpr: number; tpr: number; threshold: number }[] | null;
  pr: { recall: number; precision: number; threshold: number }[] | null;
  reliability: ReturnType<typeof reliabilityCurve> | null;
  /** Regression: predicted against actual for a scatter (at most 500 points, evenly spaced). */
  residuals: { actual: number; predicted: number }[] | null;
}

/**
 * One model's predictions on one set of rows, ready to be scored again and again: the sorting every
 * ranking metric needs is done once here, so each bootstrap replicate costs one linear pass.
 */
export interface Scorer {
  rows: number;
  metrics(weights?: Float64Array): MetricValues;
  details(): ScoreDetails;
}

/**
 * `predictions` is what the TF.js model outputs: P(positive) per row (binary), a row-major probability
 * matrix (multi-class) or the predicted value (regression).
 */
export function createScorer(
  task: TaskKind,
  y: Float32Array,
  predictions: Float32Array,
  classes: string[],
  threshold: number,
): Scorer {
  switch (task) {
    case 'binary': {
      const order = sortByScore(predictions);
      return {
        rows: y.length,
        metrics: (weights) => {
          const { confusion: _, ...values } = binaryMetrics(y, predictions, order, threshold, weights);
          return values;
        },
        details: () => {
          const { confusion } = binaryMetrics(y, predictions, order, threshold);
          const curves = binaryCurves(y, predictions, order);
          return {
            confusion: {
              classes: ['negative', 'positive'],
              counts: [
                [confusion.tn, confusion.fp],
                [confusion.fn, confusion.tp],
              ],
            },
            roc: curves.roc,
            pr: curves.pr,
            reliability: reliabilityCurve(y, predictions),
            residuals: null,
          };
        },
      };
    }
    case 'multiclass': {
      const ovr = oneVsRest(y, predictions, classes.length);
      return {
        rows: y.length,
        metrics: (weights) => {
          const { confusion: _, ...values } = multiclassMetrics(y, predictions, classes.length, ovr, weights);
          return values;
        },
        details: () => ({
          confusion: { classes, counts: multiclassMetrics(y, predictions, classes.length, ovr).confusion },
          roc: null,
          pr: null,
          reliability: null,
          residuals: null,
        }),
      };
    }
    case 'regression':
      return {
        rows: y.length,
        metrics: (weights) => ({ ...regressionMetrics(y, predictions, weights) }),
        details: () => {
          const every = Math.max(1, Math.ceil(y.length / 500));
          const residuals: { actual: number; predicted: number }[] = [];
          for (let i = 0; i < y.length; i += every)
            residuals.push({ actual: y[i] as number, predicted: predictions[i] as number });
          return { confusion: null, roc: null, pr: null, reliability: null, residuals };
        },
      };
  }
}

/** The rows of a subset (a slice or a group) as their own arrays. */
export function subset(values: Float32Array, rows: readonly number[], width = 1): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((row, i) => out.set(values.subarray(row * width, (row + 1) * width), i * width));
  return out;
}
