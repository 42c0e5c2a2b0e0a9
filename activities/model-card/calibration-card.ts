import type { TopLevelSpec } from 'vega-lite';
import type { CalibrationReport } from '../evaluate/calibration-report.js';
import { reliabilityAxes, type Chart } from './charts.js';
import { num } from './metric-words.js';

/** The calibration part of the card data: the method, and ECE before and after, in numbers and words. */
export interface CardCalibration {
  method: CalibrationReport['method'];
  fittedOn: number;
  eceBefore: number;
  eceAfter: number;
  plain: string;
}

const methodWords: Record<CalibrationReport['method'], string> = {
  platt: 'Platt scaling (a smooth S-curve that keeps the order of the scores)',
  isotonic: 'isotonic regression (a step function that never lowers a higher score)',
};

/** Card data for a calibrated model's evaluation. */
export function cardCalibration(report: CalibrationReport): CardCalibration {
  return {
    method: report.method,
    fittedOn: report.fittedOn,
    eceBefore: report.before.ece,
    eceAfter: report.after.ece,
    plain:
      `The model's probabilities were recalibrated with ${methodWords[report.method]}, fitted on ` +
      `${report.fittedOn.toLocaleString('en')} validation cases after training; serving returns the recalibrated ones. ` +
      `On the evaluation cases the average gap between predicted and observed frequency (ECE) is ` +
      `${num(report.before.ece)} before and ${num(report.after.ece)} after. Lower is better; 0 means a 30% ` +
      'prediction comes true 30% of the time.',
  };
}

/** The card paragraph for {@link cardCalibration} (plain text only: nothing in it comes from a user). */
export function calibrationHtml(calibration: CardCalibration | undefined): string {
  if (!calibration) return '';
  return `<h3>Calibrated probabilities</h3><p class="note">${calibration.plain}</p>`;
}

/** The reliability diagram before and after calibration, or null when the model carries none. */
export function calibrationChart(
  report: CalibrationReport | null | undefined,
  size: { width: number; height: number },
): (Omit<Chart, 'svg'> & { spec: TopLevelSpec }) | null {
  if (!report) return null;
  const points = (which: string, curve: CalibrationReport['before']['reliability']) =>
    curve
      .filter((b) => b.rows > 0)
      .map((b) => ({ predicted: b.meanPredicted, observed: b.observed, rows: b.rows, curve: which }));
  const before = `as trained (ECE ${num(report.before.ece)})`;
  const after = `${report.method} (ECE ${num(report.after.ece)})`;
  const values = [...points(before, report.before.reliability), ...points(after, report.after.reliability)];
  // The domain fixes which curve is grey and which blue (a sorted domain would swap them).
  const color = {
    field: 'curve',
    type: 'nominal' as const,
    title: null,
    scale: { domain: [before, after], range: ['#9aa3ad', '#2f6fde'] },
    legend: { labelLimit: 260 },
  };
  return {
    id: 'calibration-before-after',
    title: 'Calibration before and after recalibration',
    caption:
      'Predicted probability against how often the outcome really happened, for the model as trained (grey) and after recalibration on the validation split (blue). Closer to the dashed line is better.',
    spec: {
      ...size,
      config: {
        font: 'Helvetica, Arial, sans-serif',
        axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eceff3' },
        legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom' },
        view: { stroke: null },
      },
      layer: [
        {
          data: {
            values: [
              { x: 0, y: 0 },
              { x: 1, y: 1 },
            ],
          },
          mark: { type: 'line', strokeDash: [4, 4], color: '#9aa3ad' },
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
        },
        {
          data: { values },
          mark: { type: 'line', point: true },
          encoding: {
            ...reliabilityAxes,
            color,
          },
        },
      ],
    },
  };
}
