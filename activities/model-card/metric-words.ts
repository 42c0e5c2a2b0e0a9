import type { MetricName } from '../../pipelines/evaluation.js';

/** The task a metric is explained for: multi-class metrics are averages over classes, and say so. */
export type CardTask = 'binary' | 'multiclass' | 'regression';

/** How each metric is named and explained to someone who does not read code. */
export const metricWords: Record<
  MetricName,
  { label: string; explain: (value: number, outcome: string, task: CardTask) => string }
> = {
  auc: {
    label: 'Ranking quality (ROC-AUC)',
    explain: (v, outcome, task) =>
      task === 'multiclass'
        ? `For each class in turn, given one case of that class and one of another, the model scores the first higher ${pct(v)} of the time (averaged over the classes). 50% is guessing, 100% is perfect.`
        : `Given one case where ${outcome} and one where it does not, the model gives the first a higher score ${pct(v)} of the time. 50% is guessing, 100% is perfect.`,
  },
  prAuc: {
    label: 'Alarm reliability (PR-AUC)',
    explain: (v) =>
      `Averaged over all thresholds, ${pct(v)} of the model's "yes" answers are right. Compare it with how common the outcome is.`,
  },
  logLoss: {
    label: 'Confident-mistake penalty (log loss)',
    explain: (v) => `${num(v)}: punishes predictions that were sure and wrong. Lower is better.`,
  },
  accuracy: {
    label: 'Accuracy',
    explain: (v, _, task) =>
      task === 'multiclass'
        ? `${pct(v)} of cases get the right class (the one the model finds most likely).`
        : `${pct(v)} of cases get the right answer at the chosen threshold.`,
  },
  precision: {
    label: 'Precision',
    explain: (v, _, task) =>
      task === 'multiclass'
        ? `When the model names a class, it is right ${pct(v)} of the time (averaged over the classes).`
        : `When the model says yes, it is right ${pct(v)} of the time.`,
  },
  recall: {
    label: 'Recall',
    explain: (v, _, task) =>
      task === 'multiclass'
        ? `Of the cases of each class, the model finds ${pct(v)} (averaged over the classes).`
        : `Of the cases that really are yes, the model catches ${pct(v)}.`,
  },
  f1: {
    label: 'F1 score',
    explain: (v, _, task) =>
      `${num(v)}: one number balancing precision and recall (1 is perfect)${task === 'multiclass' ? ', averaged over the classes' : ''}.`,
  },
  brier: {
    label: 'Probability error (Brier score)',
    explain: (v) =>
      `${num(v)}: average squared gap between the predicted probability and what happened. Lower is better.`,
  },
  ece: {
    label: 'Calibration error (ECE)',
    explain: (v, _, task) =>
      task === 'multiclass'
        ? `The probability the model gives its chosen class is off from how often that class is right by ${pct(v)} on average. Lower is better.`
        : `Predicted probabilities are off from observed frequencies by ${pct(v)} on average. Lower is better.`,
  },
  rmse: {
    label: 'Typical error (RMSE)',
    explain: (v) => `Predictions are typically off by about ${num(v)} (large misses count extra).`,
  },
  mae: { label: 'Average error (MAE)', explain: (v) => `Predictions are off by ${num(v)} on average.` },
  r2: {
    label: 'Variance explained (R²)',
    explain: (v) =>
      `The model explains ${pct(v)} of the variation in the outcome (100% is perfect, 0% is no better than the average).`,
  },
};

export function pct(value: number): string {
  return `${(value * 100).toFixed(value >= 0.995 || value < 0.1 ? 1 : 0)}%`;
}

export function num(value: number): string {
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(0) : abs >= 1 ? value.toFixed(2) : value.toFixed(3);
}

/** A metric's value with its interval, e.g. `0.712 (0.698–0.725)`. */
export function withInterval(value: number | null, lo: number | null, hi: number | null): string {
  if (value === null) return 'n/a';
  return lo === null || hi === null ? num(value) : `${num(value)} (${num(lo)}–${num(hi)})`;
}

/**
 * A label or feature's SQL as a reader says it: a quoted column (`"Species"`) without its SQL quotes,
 * so the card's own quotation marks are not doubled; any other expression as written.
 */
export function sqlWords(sql: string): string {
  const quoted = /^"((?:[^"]|"")*)"$/.exec(sql.trim());
  return quoted ? (quoted[1] ?? '').replaceAll('""', '"') : sql;
}
