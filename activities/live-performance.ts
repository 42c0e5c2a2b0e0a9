import type { MonitorMeasurement } from '../pipelines/monitor.js';
import type { FittedLabel } from '../pipelines/transform.js';
import type { LabeledPrediction } from '../lib/feedback-log.js';
import { predictedValue } from './monitor-data.js';

/**
 * Live accuracy of one model version from its logged predictions that have feedback labels. Serving
 * logs what the network outputs — P(positive) for binary models, class probabilities for multi-class
 * — so the predicted class is derived here as evaluation does (0.5 cut, arg max) and compared with the
 * label as `POST /v1/feedback` received it (`1`, `true`, `"1"` or the class name). Regression models
 * and versions without labels give `null`: there is no accuracy to watch.
 */
export function liveAccuracy(
  rows: readonly LabeledPrediction[],
  version: number,
  label: FittedLabel,
): MonitorMeasurement['performance'] {
  if (label.task === 'regression') return null;
  let labeled = 0;
  let correct = 0;
  for (const row of rows) {
    if (row.version !== version || row.label === null) continue;
    const predicted = predictedValue(row.prediction, label);
    if (predicted === null) continue;
    labeled++;
    if (predicted === actualClass(row.label, label)) correct++;
  }
  return labeled === 0 ? null : { labeled, accuracy: correct / labeled };
}

function actualClass(value: string | number | boolean, label: FittedLabel): string {
  if (label.task !== 'binary') return String(value);
  if (value === true || value === 'true') return '1';
  if (value === false || value === 'false') return '0';
  return String(Number(value) === 1 ? 1 : 0);
}
