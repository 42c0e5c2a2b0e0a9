import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import type { FittedLabel, FittedTransform } from '../pipelines/transform.js';
import { datasetReader } from './dataset-reader.js';
import { sqlString, withDuckDB } from '../lib/duckdb.js';
import { featureInputsSql, labelSql } from './train/transform-sql.js';

/** The column the monitor compares model outputs in: predictions live, labels in the reference. */
export const predictionColumn = 'prediction';

/**
 * The model's feature inputs as the fitted transform computes them (so derived features such as
 * `hour(date)` are compared too, exactly as the model sees them), written to Parquet for the drift
 * code. With `withLabel`, also the label in `prediction` — binary `'0'/'1'`, the class name, or the
 * regression target — the reference the logged predictions are compared with.
 */
export async function writeModelInputs(
  source: string,
  transform: FittedTransform,
  target: string,
  withLabel: boolean,
): Promise<void> {
  // Targets are named by content (model hash, data hash): one written is the one wanted.
  if (existsSync(target)) return;
  const columns = featureInputsSql(transform);
  if (withLabel) columns.push(`${labelAsPrediction(transform.label)} AS ${predictionColumn}`);
  const temp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT ${columns.join(', ')} FROM ${datasetReader(source)}) TO ${sqlString(temp)} (FORMAT parquet)`,
    ),
  );
  await rename(temp, target);
}

function labelAsPrediction(label: FittedLabel): string {
  switch (label.task) {
    case 'binary':
      return `CASE WHEN ${labelSql(label)} IS NULL THEN NULL WHEN ${labelSql(label)} >= 0.5 THEN '1' ELSE '0' END`;
    case 'multiclass':
      return `CAST((${label.sql}) AS VARCHAR)`;
    case 'regression':
      return labelSql(label);
  }
}

/** The model's input features by name (numeric, then categorical): the columns drift compares. */
export function modelInputNames(transform: FittedTransform): string[] {
  return [...transform.numeric.map((f) => f.name), ...transform.categorical.map((f) => f.name)];
}

/**
 * What a logged prediction says, in the reference's terms: the class (`'1'` when P(positive) ≥ 0.5,
 * the arg max class name) or the regression value; null when the logged value is not a prediction.
 */
export function predictedValue(prediction: unknown, label: FittedLabel): string | number | null {
  switch (label.task) {
    case 'binary':
      return typeof prediction === 'number' && Number.isFinite(prediction)
        ? prediction >= 0.5
          ? '1'
          : '0'
        : null;
    case 'regression':
      return typeof prediction === 'number' && Number.isFinite(prediction) ? prediction : null;
    case 'multiclass': {
      if (!Array.isArray(prediction) || prediction.length === 0) return null;
      const scores = prediction as unknown[];
      let best = 0;
      scores.forEach((score, i) => {
        if (typeof score === 'number' && score > Number(scores[best])) best = i;
      });
      return label.classes[best] ?? null;
    }
  }
}
