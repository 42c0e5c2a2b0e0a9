import type { FittedLabel } from '../../pipelines/transform.js';
import type { Prediction } from './loaded-model.js';

/**
 * One prediction as the predict route answers it: what it means, not only a number.
 *
 * - Classifiers: the predicted class and every class's probability, by class name
 *   (`{ label: 'Adelie', probabilities: { Adelie: 0.91, Chinstrap: 0.06, Gentoo: 0.03 } }`). Binary
 *   models name their classes `'0'` and `'1'` (the label SQL false / true) and predict `'1'` from a
 *   probability of 0.5.
 * - Regression: the value in the label's units and the unit the label spec gives (`null` without one).
 */
export type LabelledPrediction =
  { label: string; probabilities: Record<string, number> } | { value: number; unit: string | null };

/** Label raw model outputs (`LoadedModel.predict`) with the classes or unit of the model's label. */
export function labelPredictions(label: FittedLabel, predictions: Prediction[]): LabelledPrediction[] {
  return predictions.map((p) => {
    if (label.task === 'regression') return { value: p as number, unit: label.unit ?? null };
    const probabilities = typeof p === 'number' ? [1 - p, p] : p;
    const names = label.task === 'binary' ? ['0', '1'] : label.classes;
    let best = typeof p === 'number' ? (p >= 0.5 ? 1 : 0) : 0;
    if (typeof p !== 'number') {
      probabilities.forEach((q, i) => {
        if (q > (probabilities[best] ?? -Infinity)) best = i;
      });
    }
    return {
      label: names[best] ?? String(best),
      probabilities: Object.fromEntries(names.map((name, i) => [name, probabilities[i] ?? Number.NaN])),
    };
  });
}
