import type { DeploySpec } from './deploy.js';

/**
 * The deploy step's decisions as pure functions (sandbox-safe): the deploy workflow calls them on
 * activity results, so a replay of the history re-derives every refusal, promotion and rollback.
 */

/** What infra validation measured: the candidate loaded from the registry and scored row by row. */
export interface InfraReport {
  model: string;
  version: number;
  /** Rows of the model's own test split that were scored. */
  rows: number;
  /** Rows whose score was not a finite number. */
  errors: number;
  p50Ms: number;
  p95Ms: number;
  /** Why loading or scoring failed outright (a hash mismatch, an unreadable dataset), else null. */
  failure: string | null;
}

/** One version's share of the prediction log in the observation window. */
export interface VersionWindow {
  version: number;
  predictions: number;
  /** Predictions whose score was not a finite number. */
  errors: number;
  meanScore: number | null;
}

/** The observation window, as the prediction log recorded it. */
export interface DeployObservation {
  /** Epoch milliseconds, inclusive start and exclusive end. */
  from: number;
  to: number;
  candidate: VersionWindow;
  production: VersionWindow | null;
  /** PSI of the candidate's score distribution against production's (null without both sides). */
  psi: number | null;
}

/** A decision and every reason for it, worded for `sluice status` and the audit report. */
export interface DeployDecision {
  passed: boolean;
  reasons: string[];
}

/** Infra validation passes when the candidate loaded, scored every row, and met the latency budget. */
export function decideInfra(report: InfraReport, spec: DeploySpec): DeployDecision {
  const label = `${report.model} v${report.version}`;
  if (report.failure !== null) {
    return { passed: false, reasons: [`infra validation of ${label} failed: ${report.failure}`] };
  }
  const reasons: string[] = [];
  let passed = true;
  if (report.rows === 0) {
    passed = false;
    reasons.push(`${label} scored no rows: its test split is empty`);
  }
  if (report.errors > 0) {
    passed = false;
    reasons.push(`${label} gave ${report.errors} of ${report.rows} non-finite scores`);
  } else {
    reasons.push(`${label} scored ${report.rows} test rows without errors`);
  }
  const latency = `p95 latency ${round(report.p95Ms)} ms per row`;
  if (report.p95Ms > spec.infra.maxP95Ms) {
    passed = false;
    reasons.push(`${latency} is over the ${spec.infra.maxP95Ms} ms budget`);
  } else {
    reasons.push(`${latency} is within the ${spec.infra.maxP95Ms} ms budget`);
  }
  return { passed, reasons };
}

/**
 * Promote after a canary or shadow window only if the candidate served enough predictions, few enough
 * of them were errors, and its score distribution stayed close to production's (PSI). Missing
 * evidence is a rollback, never a promotion.
 */
export function decideObservation(observation: DeployObservation, spec: DeploySpec): DeployDecision {
  const { thresholds } = spec;
  const { candidate, production } = observation;
  const reasons: string[] = [];
  let passed = true;
  if (candidate.predictions < thresholds.minPredictions) {
    passed = false;
    reasons.push(
      `only ${candidate.predictions} candidate predictions in the window (need ${thresholds.minPredictions}): send traffic through \`sluice serve --canary ${spec.percent}\` or lengthen observe`,
    );
  } else {
    const rate = candidate.errors / candidate.predictions;
    const errors = `candidate error rate ${round(rate * 100)}% (${candidate.errors} of ${candidate.predictions})`;
    if (rate > thresholds.maxErrorRate) {
      passed = false;
      reasons.push(`${errors} is over ${round(thresholds.maxErrorRate * 100)}%`);
    } else {
      reasons.push(`${errors} is within ${round(thresholds.maxErrorRate * 100)}%`);
    }
  }
  if (production === null || production.predictions === 0 || observation.psi === null) {
    // Nothing in production to compare with: the first model has only its own errors to answer for.
    reasons.push('no production predictions in the window: score distribution not compared');
  } else {
    const psi = `score PSI ${round(observation.psi)} against production v${production.version}`;
    if (observation.psi > thresholds.maxPsi) {
      passed = false;
      reasons.push(`${psi} is over ${thresholds.maxPsi}`);
    } else {
      reasons.push(`${psi} is within ${thresholds.maxPsi}`);
    }
  }
  return { passed, reasons };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
