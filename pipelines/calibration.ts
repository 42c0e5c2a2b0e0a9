import { z } from 'zod';

/**
 * Which probability calibration a trainer fits on the validation split after training
 * (docs/training.md, "Calibration"). Pure and sandbox-safe: the definition check runs in pipeline files.
 */
export const calibrationMethods = ['auto', 'platt', 'isotonic', 'none'] as const;
/** A label's task (as `TaskKind` in train-spec.ts, which imports this file). */
type TaskKind = 'binary' | 'multiclass' | 'regression';

export type CalibrationChoice = (typeof calibrationMethods)[number];

export const calibrationSchema = z
  .enum(calibrationMethods)
  .default('auto')
  .describe(
    'Binary models: recalibrate P(positive) on the validation split after training. `platt` (a sigmoid of the logit, keeps the ranking), `isotonic` (a monotone step function, for large validation splits), `none`; `auto` is `platt` when `classWeight` is set and `none` otherwise.',
  );

/** The calibration a binary model trained with these settings gets, or null for none. */
export function resolveCalibration(
  trainer: { calibration?: CalibrationChoice | undefined; classWeight?: unknown },
  task: TaskKind,
): 'platt' | 'isotonic' | null {
  const choice = trainer.calibration ?? 'auto';
  if (task !== 'binary' || choice === 'none') return null;
  if (choice === 'auto') {
    return trainer.classWeight === undefined || trainer.classWeight === 'none' ? null : 'platt';
  }
  return choice;
}

/**
 * Why these settings cannot calibrate, or null when they can: calibration is for binary probabilities,
 * so an explicit `platt` or `isotonic` on a multi-class or regression label is refused (naming the field
 * and the fix) rather than silently ignored.
 */
export function calibrationIssue(
  trainer: { calibration?: CalibrationChoice | undefined },
  task: TaskKind,
): string | null {
  const choice = trainer.calibration ?? 'auto';
  if (task === 'binary' || choice === 'auto' || choice === 'none') return null;
  const what =
    task === 'regression'
      ? 'a regression model predicts a value, not a probability'
      : 'multi-class models are not calibrated (one-vs-rest calibration is not supported)';
  return `calibration "${choice}" needs a binary label, but the label's task is ${task}: ${what}; set calibration to "none" or leave it out`;
}
