import type { TaskKind } from './train-spec.js';

/**
 * A feature transform after fitting on the training split (docs/architecture.md decision 9): every statistic it
 * needs is in here as plain JSON, so it is saved inside the model artifact and the same numbers are
 * applied by DuckDB in batch and by JavaScript online. Sandbox-safe types only.
 */
export interface FittedTransform {
  version: 1;
  numeric: FittedNumeric[];
  categorical: FittedCategorical[];
  label: FittedLabel;
  /** Rows of the training split the statistics came from. */
  fittedOnRows: number;
  /**
   * The source columns the features read, with their DuckDB types: what a serving request sends.
   * Serving computes every feature's `sql` from these (`lib/model/feature-program.ts`). Absent in
   * models trained before serving computed derived features; those read each feature by name.
   */
  inputs?: SourceColumn[];
}

/** A column of the training source, as DuckDB typed it (`DOUBLE`, `TIMESTAMP`, `VARCHAR`…). */
export interface SourceColumn {
  name: string;
  type: string;
}

export interface FittedNumeric {
  name: string;
  /** SQL producing the raw value; the column itself when not derived. */
  sql: string;
  /** Value used when the input is missing or NaN (in raw units). */
  fill: number;
  mean: number;
  /** Population standard deviation on the training split; never 0 (constant columns are refused). */
  std: number;
  /** Whether a 0/1 missing-indicator column follows the standardised value. */
  indicator: boolean;
  /** Share of training rows that were missing, for the model card. */
  missingRate: number;
}

export type FittedCategorical =
  | {
      name: string;
      sql: string;
      encoding: 'one-hot';
      /** Most frequent training values, most frequent first; anything else (or missing) is OOV. */
      vocabulary: string[];
    }
  | {
      name: string;
      sql: string;
      encoding: 'hash';
      /** Value → md5 bucket in [0, buckets). */
      buckets: number;
      distinct: number;
    };

export interface FittedLabel {
  task: TaskKind;
  /** SQL producing the raw label. */
  sql: string;
  /** Multi-class: class names in index order (sorted). Binary: `['0', '1']`. Regression: empty. */
  classes: string[];
  /** Regression: the training target's mean and standard deviation (models learn it standardised). */
  scale?: { mean: number; std: number };
  /** Regression: the unit of the target (`minutes`, `USD`), as the label spec gives it. */
  unit?: string;
}

/** Names of the columns the transform outputs, in order: what the model's inputs mean. */
export function transformOutputNames(transform: FittedTransform): string[] {
  const names: string[] = [];
  for (const f of transform.numeric) {
    names.push(f.name);
    if (f.indicator) names.push(`${f.name}__missing`);
  }
  for (const f of transform.categorical) {
    if (f.encoding === 'one-hot') {
      for (const value of f.vocabulary) names.push(`${f.name}=${value}`);
      names.push(`${f.name}__oov`);
    } else {
      for (let b = 0; b < f.buckets; b++) names.push(`${f.name}#${b}`);
    }
  }
  return names;
}

/** How many outputs a model over this transform has: 1 (binary, regression) or one per class. */
export function outputUnits(label: FittedLabel): number {
  return label.task === 'multiclass' ? label.classes.length : 1;
}
