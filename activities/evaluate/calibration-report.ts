import type { FittedCalibration, ModelManifest } from '../../pipelines/model.js';
import { reliabilityCurve } from './binary-metrics.js';

type Reliability = ReturnType<typeof reliabilityCurve>;

/**
 * How well the model's probabilities match observed frequencies on the evaluation rows, before and after
 * the calibration stored with it: ECE over the same ten bins as the `ece` metric, and the reliability
 * curve of each. The evaluation's own metrics are the calibrated ones (what serving returns).
 */
export interface CalibrationReport {
  method: FittedCalibration['method'];
  /** Validation rows the calibration was fitted on. */
  fittedOn: number;
  before: { ece: number; reliability: Reliability };
  after: { ece: number; reliability: Reliability };
}

/** Expected calibration error from a reliability curve: |observed − predicted| per bin, weighted by rows. */
export function eceOf(reliability: Reliability): number {
  const total = reliability.reduce((n, bin) => n + bin.rows, 0);
  if (total === 0) return 0;
  let ece = 0;
  for (const bin of reliability) {
    if (bin.rows === 0 || bin.observed === null || bin.meanPredicted === null) continue;
    ece += (bin.rows / total) * Math.abs(bin.observed - bin.meanPredicted);
  }
  return ece;
}

/** The before/after report for a calibrated binary model, or null when the model carries no calibration. */
export function calibrationReport(
  manifest: ModelManifest,
  y: Float32Array,
  uncalibrated: () => Float32Array,
  calibrated: Float32Array,
): CalibrationReport | null {
  const { calibration } = manifest;
  if (calibration === undefined || manifest.metadata.task !== 'binary') return null;
  const before = reliabilityCurve(y, uncalibrated());
  const after = reliabilityCurve(y, calibrated);
  return {
    method: calibration.method,
    fittedOn: calibration.rows,
    before: { ece: eceOf(before), reliability: before },
    after: { ece: eceOf(after), reliability: after },
  };
}
