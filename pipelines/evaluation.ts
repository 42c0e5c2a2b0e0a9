import { z } from 'zod';
import type { ArtifactRef } from './artifact.js';
import type { ModelRef } from './model.js';
import type { TaskKind } from './train-spec.js';

/**
 * What an evaluation measures and how a model is blessed: shared by the `evaluateModel` activity, the
 * model card and the workflow that re-derives the blessing from the activity's result (docs/architecture.md
 * decision 4). Sandbox-safe.
 */

/** Metric names, the same for every task where they make sense (`auc` is macro one-vs-rest for multi-class). */
export const metricNames = [
  'auc',
  'prAuc',
  'logLoss',
  'accuracy',
  'precision',
  'recall',
  'f1',
  'brier',
  'ece',
  'rmse',
  'mae',
  'r2',
] as const;
export type MetricName = (typeof metricNames)[number];

/** Metrics where smaller is better; every other metric is better when larger. */
export const lowerIsBetter: ReadonlySet<MetricName> = new Set(['logLoss', 'brier', 'ece', 'rmse', 'mae']);

/** Which metrics each task reports. */
export const taskMetrics: Record<TaskKind, readonly MetricName[]> = {
  binary: ['auc', 'prAuc', 'logLoss', 'accuracy', 'precision', 'recall', 'f1', 'brier', 'ece'],
  multiclass: ['auc', 'logLoss', 'accuracy', 'precision', 'recall', 'f1', 'brier', 'ece'],
  regression: ['rmse', 'mae', 'r2'],
};

/** A metric with its seeded bootstrap 95% interval; null where undefined (e.g. AUC with one class). */
export interface Estimate {
  value: number | null;
  lo: number | null;
  hi: number | null;
}

export const fairnessMetricNames = [
  'demographicParityDifference',
  'demographicParityRatio',
  'equalizedOddsDifference',
] as const;
export type FairnessMetricName = (typeof fairnessMetricNames)[number];

const bound = z
  .strictObject({
    min: z.number().optional().describe('The metric must be at least this.'),
    max: z.number().optional().describe('The metric must be at most this.'),
  })
  .describe('Bounds on this metric.');

/**
 * Thresholds that decide `blessed`, e.g.
 * `{ auc: { min: 0.62 }, vsProduction: { auc: { minDelta: 0 } }, fairness: { demographicParityDifference: { max: 0.1 } } }`.
 * `minDelta` is an improvement over production in the metric's good direction (for log loss, a decrease).
 * `useLowerBound` checks minimums against the 95% interval's pessimistic end rather than the estimate.
 */
export const blessSchema = z.strictObject({
  ...Object.fromEntries(metricNames.map((name) => [name, bound.optional()])),
  vsProduction: z
    .partialRecord(
      z.enum(metricNames),
      z.strictObject({
        minDelta: z
          .number()
          .describe(
            "Least improvement over production in the metric's good direction (for log loss, a decrease).",
          ),
      }),
    )
    .default({})
    .describe('Per metric: how much better than the production model the candidate must be.'),
  fairness: z
    .partialRecord(z.enum(fairnessMetricNames), bound)
    .default({})
    .describe(
      'Bounds on fairness gaps across the `fairness` groups, e.g. `{ demographicParityDifference: { max: 0.1 } }`.',
    ),
  /** Every slice (with at least `minRows` rows) must meet these. */
  slices: z
    .strictObject({
      minRows: z.number().int().min(1).default(30).describe('Slices with fewer rows are not checked.'),
      metrics: z
        .partialRecord(z.enum(metricNames), bound)
        .default({})
        .describe('Bounds every slice must meet.'),
    })
    .optional()
    .describe('Every slice (with at least `minRows` rows) must meet these.'),
  useLowerBound: z
    .boolean()
    .default(false)
    .describe("Check minimums against the 95% interval's pessimistic end rather than the estimate."),
}) as unknown as z.ZodType<BlessSpec, BlessConfig>;

export type BlessBounds = { min?: number | undefined; max?: number | undefined };
export type BlessSpec = Partial<Record<MetricName, BlessBounds>> & {
  vsProduction: Partial<Record<MetricName, { minDelta: number }>>;
  fairness: Partial<Record<FairnessMetricName, BlessBounds>>;
  slices?: { minRows: number; metrics: Partial<Record<MetricName, BlessBounds>> } | undefined;
  useLowerBound: boolean;
};
export type BlessConfig = Partial<Record<MetricName, BlessBounds>> & {
  vsProduction?: Partial<Record<MetricName, { minDelta: number }>>;
  fairness?: Partial<Record<FairnessMetricName, BlessBounds>>;
  slices?: { minRows?: number; metrics?: Partial<Record<MetricName, BlessBounds>> };
  useLowerBound?: boolean;
};

/** One group of a sliced or fairness table. */
export interface GroupRow {
  slice: string;
  value: string;
  rows: number;
  metrics: Partial<Record<MetricName, number | null>>;
}

export interface FairnessGroup {
  value: string;
  rows: number;
  selectionRate: number | null;
  truePositiveRate: number | null;
  falsePositiveRate: number | null;
}

export interface FairnessReport {
  column: string;
  groups: FairnessGroup[];
  summary: Record<FairnessMetricName, Estimate>;
}

/** One check of the blessing, passed or not, with the numbers that decided it. */
export interface BlessReason {
  check: string;
  passed: boolean;
  observed: number | null;
  threshold: number | null;
  message: string;
}

export interface Blessing {
  blessed: boolean;
  reasons: BlessReason[];
}

/**
 * The small result of `evaluateModel` that travels through Temporal; details are in `evaluation`.
 * Measurements only: the blessing is the workflow's ({@link BlessedEvaluation}).
 */
export interface EvaluationSummary {
  model: ModelRef;
  task: TaskKind;
  rows: number;
  threshold: number;
  metrics: Partial<Record<MetricName, Estimate>>;
  production: {
    model: ModelRef;
    metrics: Partial<Record<MetricName, Estimate>>;
    /** Candidate minus production, with a paired bootstrap interval. */
    delta: Partial<Record<MetricName, Estimate>>;
  } | null;
  fairness: FairnessReport[];
  /** Every slice group's rows and metrics (each sliced column keeps its most frequent values). */
  slices: GroupRow[];
  /** The full evaluation (curves, confusion matrix, per-slice tables) in the artifact store. */
  evaluation: ArtifactRef;
}

/** An evaluation as the workflow passes it on: the activity's measurements plus the workflow's blessing. */
export type BlessedEvaluation = EvaluationSummary & { blessing: Blessing };
