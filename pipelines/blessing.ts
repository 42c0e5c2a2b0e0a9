import {
  blessSchema,
  fairnessMetricNames,
  lowerIsBetter,
  metricNames,
  type BlessBounds,
  type BlessReason,
  type BlessSpec,
  type Blessing,
  type Estimate,
  type EvaluationSummary,
} from './evaluation.js';
import type { JsonValue } from './json.js';

/**
 * Decide whether a model is blessed, listing every check with the numbers behind it. Pure and
 * sandbox-safe, so the workflow re-derives the decision from the evaluation's result (docs/architecture.md decision
 * 4) and a replayed history reaches the same verdict. A missing metric fails its check: a threshold
 * that cannot be evaluated is not a pass.
 */
export function blessModel(
  evaluation: Pick<EvaluationSummary, 'metrics' | 'production' | 'fairness' | 'slices'>,
  spec: BlessSpec,
): Blessing {
  const reasons: BlessReason[] = [];
  for (const name of metricNames) {
    const bounds = spec[name];
    if (bounds) reasons.push(...checkBounds(evaluation.metrics[name], bounds, spec.useLowerBound, name));
  }
  for (const [name, rule] of Object.entries(spec.vsProduction) as [
    keyof BlessSpec['vsProduction'],
    { minDelta: number },
  ][]) {
    const check = `${name} vs production`;
    if (!evaluation.production) {
      reasons.push({
        check,
        passed: true,
        observed: null,
        threshold: rule.minDelta,
        message: `no production model yet: ${name} comparison not needed`,
      });
      continue;
    }
    const delta = evaluation.production.delta[name]?.value ?? null;
    const improvement = delta === null ? null : lowerIsBetter.has(name) ? -delta : delta;
    const passed = improvement !== null && improvement >= rule.minDelta;
    const candidate = format(evaluation.metrics[name]?.value);
    const production = format(evaluation.production.metrics[name]?.value);
    reasons.push({
      check,
      passed,
      observed: improvement,
      threshold: rule.minDelta,
      message:
        improvement === null
          ? `${name} could not be compared with production`
          : `${name} ${candidate} vs production ${production}: improvement ${format(improvement)} ${passed ? '≥' : '<'} required ${format(rule.minDelta)}`,
    });
  }
  for (const name of fairnessMetricNames) {
    const bounds = spec.fairness[name];
    if (!bounds) continue;
    if (evaluation.fairness.length === 0) {
      reasons.push({
        check: name,
        passed: false,
        observed: null,
        threshold: bounds.max ?? bounds.min ?? null,
        message: `${name} has a threshold but no fairness groups were declared`,
      });
    }
    for (const report of evaluation.fairness) {
      reasons.push(...checkBounds(report.summary[name], bounds, false, `${name} across ${report.column}`));
    }
  }
  if (spec.slices) {
    for (const [name, bounds] of Object.entries(spec.slices.metrics) as [
      keyof typeof spec.slices.metrics,
      BlessBounds,
    ][]) {
      for (const row of evaluation.slices) {
        if (row.rows < spec.slices.minRows) continue;
        const value = row.metrics[name] ?? null;
        reasons.push(
          ...checkBounds(
            { value, lo: value, hi: value },
            bounds,
            false,
            `${name} on ${row.slice}=${row.value}`,
          ),
        );
      }
    }
  }
  return { blessed: reasons.every((r) => r.passed), reasons };
}

function checkBounds(
  estimate: Estimate | undefined,
  bounds: BlessBounds,
  useLowerBound: boolean,
  check: string,
): BlessReason[] {
  const reasons: BlessReason[] = [];
  const value = estimate?.value ?? null;
  const pessimisticLow = useLowerBound ? (estimate?.lo ?? null) : value;
  const pessimisticHigh = useLowerBound ? (estimate?.hi ?? null) : value;
  const which = useLowerBound ? ' (95% interval bound)' : '';
  if (bounds.min !== undefined) {
    const passed = pessimisticLow !== null && pessimisticLow >= bounds.min;
    reasons.push({
      check: `${check} min`,
      passed,
      observed: pessimisticLow,
      threshold: bounds.min,
      message:
        pessimisticLow === null
          ? `${check} is not available, so its minimum ${format(bounds.min)} is not met`
          : `${check}${which} ${format(pessimisticLow)} ${passed ? '≥' : '<'} minimum ${format(bounds.min)}`,
    });
  }
  if (bounds.max !== undefined) {
    const passed = pessimisticHigh !== null && pessimisticHigh <= bounds.max;
    reasons.push({
      check: `${check} max`,
      passed,
      observed: pessimisticHigh,
      threshold: bounds.max,
      message:
        pessimisticHigh === null
          ? `${check} is not available, so its maximum ${format(bounds.max)} is not met`
          : `${check}${which} ${format(pessimisticHigh)} ${passed ? '≤' : '>'} maximum ${format(bounds.max)}`,
    });
  }
  return reasons;
}

function format(value: number | null | undefined): string {
  if (value === null || value === undefined) return 'n/a';
  return Number(value.toFixed(4)).toString();
}

/**
 * The blessing of an evaluation step, derived in workflow code: the step's `bless` params (its spec, so
 * in history) applied to the metrics, production comparison, fairness and slices the activity measured.
 * Any `blessing` the output carries is ignored: an activity measures, the workflow decides (docs/architecture.md
 * decision 4). Returns the reason in words when it cannot be derived (no metrics; invalid `bless`).
 */
export function deriveBlessing(
  step: string,
  params: JsonValue | undefined,
  output: JsonValue | undefined,
): Blessing | { error: string } {
  const value = isRecord(output) ? output : {};
  if (!isRecord(value['metrics'])) {
    return {
      error: `step "${step}" returned no metrics: an evaluation gate needs an evaluateModel step (or a step returning { metrics, production, fairness, slices })`,
    };
  }
  const config = isRecord(params) && params['bless'] !== undefined ? params['bless'] : {};
  const spec = blessSchema.safeParse(config);
  if (!spec.success) {
    const issue = spec.error.issues[0];
    return {
      error: `step "${step}" params.bless is not valid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`,
    };
  }
  const evaluation = value as unknown as Partial<
    Pick<EvaluationSummary, 'metrics' | 'production' | 'fairness' | 'slices'>
  >;
  return blessModel(
    {
      metrics: evaluation.metrics ?? {},
      production: evaluation.production ?? null,
      fairness: Array.isArray(evaluation.fairness) ? evaluation.fairness : [],
      slices: Array.isArray(evaluation.slices) ? evaluation.slices : [],
    },
    spec.data,
  );
}

function isRecord(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
