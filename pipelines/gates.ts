import { deriveBlessing } from './blessing.js';
import type { Blessing } from './evaluation.js';
import type { JsonValue } from './json.js';

/**
 * Gates: points where a run stops unless the evidence is right. The decision is made here, in
 * workflow code, from a step's JSON output (docs/architecture.md decision 4), so replaying a history re-derives
 * it. A refused gate is a result, not an exception: the run ends `stopped`, naming the gate and why.
 */
export const gateKinds = ['validation', 'evaluation'] as const;
export type GateKind = (typeof gateKinds)[number];

export interface GateDecision {
  step: string;
  /** `deploy`: a deploy step that refused or rolled back its candidate stops the run too. */
  gate: GateKind | 'approval' | 'deploy';
  passed: boolean;
  /** Why it passed or not, worded for the person reading `sluice status`. */
  reasons: string[];
}

const shownReasons = 5;

/**
 * Decide a gate from the output of the step it guards and that step's params (its spec). Pure and
 * sandbox-safe. An evaluation gate re-derives the blessing from the measured metrics with the step's
 * `bless` thresholds ({@link deriveBlessing}); a `blessed` flag in the output is not trusted.
 */
export function decideGate(
  gate: GateKind,
  step: string,
  output: JsonValue | undefined,
  params?: JsonValue,
): GateDecision {
  const value = isObject(output) ? output : {};
  switch (gate) {
    case 'validation': {
      const errors = value['errorCount'];
      if (typeof errors !== 'number') {
        return refuse(
          step,
          gate,
          `step "${step}" returned no errorCount: a validation gate needs a validateDataset step`,
        );
      }
      if (errors === 0) {
        const warnings = typeof value['warningCount'] === 'number' ? value['warningCount'] : 0;
        return {
          step,
          gate,
          passed: true,
          reasons: [`no error anomalies (${warnings} warning${warnings === 1 ? '' : 's'})`],
        };
      }
      const anomalies = Array.isArray(value['anomalies']) ? value['anomalies'].filter(isObject) : [];
      const listed = anomalies
        .filter((a) => a['severity'] === 'error')
        .slice(0, shownReasons)
        .map(
          (a) =>
            `${typeof a['column'] === 'string' ? a['column'] : 'dataset'}: ${text(a['check'])} expected ${text(a['expected'])}, observed ${text(a['observed'])}`,
        );
      const more = errors - listed.length;
      return {
        step,
        gate,
        passed: false,
        reasons: [
          `${errors} error anomal${errors === 1 ? 'y' : 'ies'}`,
          ...listed,
          ...(more > 0 ? [`…and ${more} more`] : []),
        ],
      };
    }
    case 'evaluation': {
      const blessing = deriveBlessing(step, params, output);
      if ('error' in blessing) return refuse(step, gate, blessing.error);
      return blessingDecision(step, blessing);
    }
  }
}

/** An evaluation gate's decision from a blessing: blessed lists every check as evidence, else the failed ones. */
export function blessingDecision(step: string, blessing: Blessing): GateDecision {
  const reasons = blessing.reasons
    .filter((r) => blessing.blessed || !r.passed)
    .map((r) => r.message || r.check);
  return {
    step,
    gate: 'evaluation',
    passed: blessing.blessed,
    reasons: reasons.length ? reasons : [blessing.blessed ? 'blessed' : 'not blessed'],
  };
}

function refuse(step: string, gate: GateKind, reason: string): GateDecision {
  return { step, gate, passed: false, reasons: [reason] };
}

/** A JSON value as text: scalars as themselves, structures as JSON. */
function text(value: JsonValue | undefined): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

function isObject(value: unknown): value is { [key: string]: JsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
