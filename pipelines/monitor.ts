import {
  driftThresholdsSchema,
  judgeDrift,
  thresholdsFor,
  type DriftThresholds,
  type DriftVerdict,
  type FeatureStatistics,
} from './drift.js';
import type { PipelineSpec } from './spec.js';

/**
 * The monitor of a deployed model (issue 6, item 4): what it compares, and what a breach does.
 * Plain JSON and sandbox-safe, so the monitor workflow decides a breach in workflow code and a replay
 * of its history re-derives every decision (docs/architecture.md decision 4).
 */

/** Where the recent data comes from: a dataset file, or the serving prediction log of the model. */
export type MonitorCurrent = { source: string } | { predictionLog: true };

/** What to do when the monitor sees a breach. */
export interface MonitorPolicy {
  /** `retrain` alerts and starts the pipeline with `trigger: 'drift'`; `alert` only alerts. */
  onBreach: 'retrain' | 'alert';
  /** How many drifted features make a breach (default 1). */
  minDriftedFeatures?: number;
  /** Live accuracy below this, on at least `minLabeled` labelled predictions, is a breach. */
  minAccuracy?: number;
  /** Labels needed before live accuracy counts (default 50). */
  minLabeled?: number;
}

export interface MonitorInput {
  /** Registry name of the model (`registry/<model>`); its production version is the one watched. */
  model: string;
  /** The pipeline that retrains it, as a spec (resolved once by whoever creates the monitor). */
  pipeline: PipelineSpec;
  current: MonitorCurrent;
  /** Drift thresholds for every feature, and per feature; defaults as in `pipelines/drift.ts`. */
  thresholds?: Partial<DriftThresholds>;
  perColumn?: Record<string, Partial<DriftThresholds>>;
  policy: MonitorPolicy;
}

/** One feature's statistics and the verdict the workflow gave them, without bins: small enough for history. */
export interface FeatureVerdict extends FeatureStatistics {
  verdict: DriftVerdict;
  reasons: string[];
}

/**
 * What the measuring activity saw: the compared data, drift statistics per feature and live
 * performance. Measurements only: the verdicts are the workflow's ({@link decideBreach}).
 */
export interface MonitorMeasurement {
  model: string;
  /** The registry version watched (production, else the latest registered). */
  version: number;
  reference: { sha256: string; rows: number };
  current: { name: string; sha256: string; rows: number; source: string | null };
  features: FeatureStatistics[];
  skipped: { column: string; reason: string }[];
  /**
   * Prediction drift (prediction log only): the classes (or values) the model gave live against the
   * labels of its training data. Optional, so monitor runs recorded before it existed still replay.
   */
  prediction?: FeatureStatistics | null;
  /** Accuracy on labelled logged predictions, when any have labels. */
  performance: { labeled: number; accuracy: number } | null;
}

export interface MonitorDecision {
  breach: boolean;
  reasons: string[];
  /**
   * Every feature's verdict under the monitor's thresholds, decided here rather than by the activity.
   * Optional only because monitor runs recorded before issue 15 returned verdicts in the measurement.
   */
  features?: FeatureVerdict[];
  prediction?: FeatureVerdict | null;
}

/** The monitor's drift thresholds: for every feature (defaults as in `pipelines/drift.ts`) and per feature. */
export type MonitorThresholds = Pick<MonitorInput, 'thresholds' | 'perColumn'>;

/**
 * Decide a breach from the measured statistics: judge every feature against the monitor's thresholds,
 * then breach on drifted features (at least `minDriftedFeatures`), drifted predictions, or live
 * accuracy under `minAccuracy` on enough labels. Pure, so it runs in the workflow and a replay
 * re-derives every verdict from the recorded statistics and the recorded thresholds.
 *
 * @throws Error when the thresholds are not valid (the zod issue, naming the field).
 */
export function decideBreach(
  measurement: MonitorMeasurement,
  policy: MonitorPolicy,
  limits: MonitorThresholds = {},
): MonitorDecision {
  const base = driftThresholdsSchema.parse(limits.thresholds ?? {});
  const judge = (stats: FeatureStatistics): FeatureVerdict => {
    const { column, psi, js, ks } = stats;
    const own = { column, psi, js, ...(ks ? { ks } : {}) };
    return { ...own, ...judgeDrift(own, thresholdsFor(base, limits.perColumn ?? {}, column)) };
  };
  const features = measurement.features.map(judge);
  const prediction = measurement.prediction ? judge(measurement.prediction) : null;
  const reasons: string[] = [];
  const drifted = features.filter((f) => f.verdict === 'drift');
  if (drifted.length > 0 && drifted.length >= (policy.minDriftedFeatures ?? 1)) {
    for (const feature of drifted) reasons.push(`feature ${feature.column}: ${feature.reasons.join(', ')}`);
  }
  if (prediction?.verdict === 'drift') {
    reasons.push(`predictions: ${prediction.reasons.join(', ')}`);
  }
  const perf = measurement.performance;
  if (
    perf &&
    policy.minAccuracy !== undefined &&
    perf.labeled >= (policy.minLabeled ?? 50) &&
    perf.accuracy < policy.minAccuracy
  ) {
    reasons.push(
      `accuracy ${perf.accuracy.toFixed(3)} < ${policy.minAccuracy} on ${perf.labeled} labelled predictions`,
    );
  }
  return { breach: reasons.length > 0, reasons, features, prediction };
}

/**
 * The retraining run's workflow id: pipeline plus the current data's hash, started with
 * `REJECT_DUPLICATE`, so however many monitor runs see the same drifted data, one retraining starts.
 */
export function retrainWorkflowId(pipeline: string, dataSha256: string): string {
  return `${pipeline}-drift-${dataSha256.slice(0, 16)}`;
}

/** The Temporal Schedule id of a model's monitor. */
export function monitorScheduleId(model: string): string {
  return `sluice-monitor-${model}`;
}

/** An alert as the workflow sends it: pino always, the webhook when configured. */
export interface MonitorAlert {
  model: string;
  version: number;
  reasons: string[];
  current: MonitorMeasurement['current'];
  action: 'retrain' | 'alert';
  retrainWorkflowId: string | null;
}

/** What one monitor run did, as its result (and in its history). */
export interface MonitorResult {
  measurement: MonitorMeasurement;
  decision: MonitorDecision;
  /** `webhook`: `sent`, `not configured`, or `failed after retries: <cause>`. */
  alert: { sent: boolean; webhook: string } | null;
  retraining: { workflowId: string; started: boolean } | null;
}
