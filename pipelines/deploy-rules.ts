import type { DeploySpec } from './deploy.js';
import type { GateDecision } from './gates.js';
import type { JsonValue } from './json.js';

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

/** One version's serving counters at one instant, summed over the scraped replicas. */
export interface VersionSeries {
  /** Requests answered (`sluice_predict_requests_total`, every role). */
  requests: number;
  /** Requests refused or failed (`sluice_predict_errors_total`, every code). */
  errors: number;
  /** Latency histogram: cumulative counts per finite upper bound (seconds), ascending. */
  buckets: { le: number; count: number }[];
  /** Observations in the histogram, +Inf bucket included. */
  count: number;
}

/** A scrape of the serving replicas' `/metrics` for one model, keyed by version. */
export interface ServingSnapshot {
  versions: Record<string, VersionSeries>;
}

/** One version's serving numbers over the window: the difference of two snapshots. */
export interface ServingWindow {
  version: number;
  requests: number;
  errors: number;
  errorRate: number | null;
  p95Ms: number | null;
}

/** What changed for `version` between two snapshots (a replica restart resets counters: floor 0). */
export function servingWindow(
  before: ServingSnapshot,
  after: ServingSnapshot,
  version: number,
): ServingWindow {
  const a = before.versions[String(version)];
  const b = after.versions[String(version)];
  const diff = (x: number | undefined, y: number | undefined): number => Math.max(0, (y ?? 0) - (x ?? 0));
  const requests = diff(a?.requests, b?.requests);
  const errors = diff(a?.errors, b?.errors);
  const buckets = (b?.buckets ?? []).map((bucket) => ({
    le: bucket.le,
    count: diff(a?.buckets.find((x) => x.le === bucket.le)?.count, bucket.count),
  }));
  const p95 = histogramQuantile(buckets, diff(a?.count, b?.count), 0.95);
  return {
    version,
    requests,
    errors,
    errorRate: requests + errors === 0 ? null : errors / (requests + errors),
    p95Ms: p95 === null ? null : p95 * 1000,
  };
}

/**
 * The q-quantile of a cumulative histogram, interpolated linearly inside its bucket as Prometheus'
 * `histogram_quantile` does; beyond the last finite bound, that bound. Null for an empty histogram.
 */
export function histogramQuantile(
  buckets: readonly { le: number; count: number }[],
  count: number,
  q: number,
): number | null {
  if (count <= 0) return null;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      const inBucket = bucket.count - below;
      return inBucket <= 0 ? bucket.le : lower + ((bucket.le - lower) * (rank - below)) / inBucket;
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return buckets.length === 0 ? null : lower;
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
export function decideObservation(
  observation: DeployObservation,
  spec: DeploySpec,
  serving: { candidate: ServingWindow; production: ServingWindow | null } | null = null,
): DeployDecision {
  const { thresholds } = spec;
  const { candidate, production } = observation;
  const reasons: string[] = [];
  let passed = true;
  if (serving) {
    const verdict = decideServing(serving.candidate, serving.production, spec);
    passed = verdict.passed;
    reasons.push(...verdict.reasons);
  }
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

/** The serving side of a canary: refused or failed requests, and p95 latency against production's. */
function decideServing(
  candidate: ServingWindow,
  production: ServingWindow | null,
  spec: DeploySpec,
): DeployDecision {
  const { maxErrorRate, maxLatencyRatio } = spec.thresholds;
  const reasons: string[] = [];
  let passed = true;
  if (candidate.errorRate === null) {
    passed = false;
    reasons.push(`serving metrics show no requests for candidate v${candidate.version} in the window`);
    return { passed, reasons };
  }
  const errors = `serving error rate ${round(candidate.errorRate * 100)}% (${candidate.errors} of ${candidate.requests + candidate.errors} requests)`;
  if (candidate.errorRate > maxErrorRate) {
    passed = false;
    reasons.push(`${errors} is over ${round(maxErrorRate * 100)}%`);
  } else reasons.push(`${errors} is within ${round(maxErrorRate * 100)}%`);
  if (production?.p95Ms == null || candidate.p95Ms === null || production.p95Ms === 0) {
    // Shadow scoring happens after the answer is sent, so serving records no latency for it.
    const missing = candidate.p95Ms === null ? `candidate v${candidate.version}` : 'production';
    reasons.push(`no latency for ${missing} in the window: p95 latency not compared`);
    return { passed, reasons };
  }
  const ratio = candidate.p95Ms / production.p95Ms;
  const latency = `p95 latency ${round(candidate.p95Ms)} ms is ${round(ratio)}× production's ${round(production.p95Ms)} ms`;
  if (ratio > maxLatencyRatio) {
    passed = false;
    reasons.push(`${latency}, over ${maxLatencyRatio}×`);
  } else reasons.push(`${latency}, within ${maxLatencyRatio}×`);
  return { passed, reasons };
}

/**
 * A deploy step as a gate of its run: passed when the candidate is in production (promoted, or already
 * was), so a refused or rolled-back deploy stops the run with its reasons, as a failed gate does, and
 * `sluice run` exits non-zero on it.
 */
export function deployGate(step: string, output: JsonValue): GateDecision {
  const value = typeof output === 'object' && output !== null && !Array.isArray(output) ? output : {};
  const outcome = typeof value['outcome'] === 'string' ? value['outcome'] : 'no outcome';
  const reasons = Array.isArray(value['reasons'])
    ? value['reasons'].filter((r): r is string => typeof r === 'string')
    : [];
  const passed = outcome === 'promoted' || outcome === 'unchanged';
  return { step, gate: 'deploy', passed, reasons: [`deploy ${outcome}`, ...reasons] };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** The canary stages a deploy walks through: `stages`, or one stage of `percent` for `observe`. */
export function deployStages(spec: DeploySpec): { percent: number; observe: string }[] {
  if (spec.strategy !== 'canary') return [{ percent: 0, observe: spec.observe }];
  return spec.stages ?? [{ percent: spec.percent, observe: spec.observe }];
}

/** What one serving replica reported running after a traffic change (its `GET /v1/models/<model>`). */
export interface ReplicaTraffic {
  url: string;
  /** Whether it runs the requested split for the candidate. */
  applied: boolean;
  candidate: number | null;
  canaryPercent: number | null;
  shadow: boolean | null;
  /** `registry` or `override` (started with `--canary` / `--shadow`), or null when it did not answer. */
  source: string | null;
  /** One line for the deploy's reasons when it did not apply the split. */
  note: string;
}
