import type { DuckDBConnection } from '@duckdb/node-api';
import { DataValidationError, InvalidInputError } from '../../pipelines/errors.js';
import type { FeaturesSpec, LabelSpec } from '../../pipelines/train-spec.js';
import type {
  FittedCategorical,
  FittedLabel,
  FittedNumeric,
  FittedTransform,
} from '../../pipelines/transform.js';
import { featureInputColumns, FeatureProgramError } from '../../lib/model/feature-program.js';
import { sqlIdent } from './source.js';

/**
 * Fit the feature transform on the training split only (statistics from validation or test rows would
 * leak them into the model). Runs aggregate queries in DuckDB; no row reaches JavaScript.
 *
 * `rows` is a relation with the source's columns and `__split`. Bad data is refused here, before any
 * model exists: all-missing or constant numerics, single-valued categoricals, a missing or constant label.
 *
 * @throws DataValidationError naming the feature and the fix.
 */
export async function fitTransform(
  db: DuckDBConnection,
  rows: string,
  features: FeaturesSpec,
  label: LabelSpec,
): Promise<FittedTransform> {
  const labelExpr = label.sql ?? sqlIdent(label.column ?? '');
  const fittedLabel = await fitLabel(db, rows, label, labelExpr);
  const train = `(SELECT * FROM ${rows} WHERE __split = 'train' AND (${labelExpr}) IS NOT NULL)`;
  const trainRows = await scalar(db, `SELECT count(*)::DOUBLE FROM ${train}`);

  const numeric: FittedNumeric[] = [];
  for (const spec of features.numeric) {
    const sql = spec.sql ?? sqlIdent(spec.name);
    const x = `TRY_CAST((${sql}) AS DOUBLE)`;
    const stats = await one(
      db,
      `SELECT count(*) FILTER (WHERE ${x} IS NOT NULL AND isfinite(${x}))::DOUBLE AS valid,
              avg(${x}) FILTER (WHERE isfinite(${x})) AS mean,
              stddev_pop(${x}) FILTER (WHERE isfinite(${x})) AS std,
              median(${x}) FILTER (WHERE isfinite(${x})) AS median
       FROM ${train}`,
    );
    const valid = Number(stats['valid'] ?? 0);
    if (valid === 0) {
      throw new DataValidationError(
        `numeric feature "${spec.name}" has no usable value in the ${trainRows} training rows (all missing or NaN): drop it or fix the source`,
        { details: { feature: spec.name, trainRows } },
      );
    }
    const mean = Number(stats['mean']);
    const std = Number(stats['std']);
    if (!(std > 0)) {
      throw new DataValidationError(
        `numeric feature "${spec.name}" is constant (${mean}) in the training split: it cannot inform the model, drop it`,
        { details: { feature: spec.name, value: mean } },
      );
    }
    const missingRate = 1 - valid / trainRows;
    const fill = spec.impute === 'zero' ? 0 : spec.impute === 'median' ? Number(stats['median']) : mean;
    const indicator = spec.indicator === 'auto' ? missingRate > 0 : spec.indicator;
    numeric.push({ name: spec.name, sql, fill, mean, std, indicator, missingRate });
  }

  const categorical: FittedCategorical[] = [];
  for (const spec of features.categorical) {
    const sql = spec.sql ?? sqlIdent(spec.name);
    const type = await columnType(db, `SELECT (${sql}) FROM ${rows}`);
    if (/^(DOUBLE|FLOAT|REAL|DECIMAL)/.test(type)) {
      throw new InvalidInputError(
        `categorical feature "${spec.name}" is ${type}: its text form is ambiguous, cast it in sql (e.g. CAST(x AS INTEGER)) or make it numeric`,
        { details: { feature: spec.name, type } },
      );
    }
    const v = `CAST((${sql}) AS VARCHAR)`;
    const distinct = await scalar(db, `SELECT count(DISTINCT ${v})::DOUBLE FROM ${train}`);
    if (distinct < 2) {
      throw new DataValidationError(
        `categorical feature "${spec.name}" has ${distinct === 0 ? 'no value' : 'a single value'} in the training split: it cannot inform the model, drop it`,
        { details: { feature: spec.name, distinct } },
      );
    }
    if (spec.encoding === 'hash' || (spec.encoding === 'auto' && distinct > spec.hashAbove)) {
      categorical.push({ name: spec.name, sql, encoding: 'hash', buckets: spec.hashBuckets, distinct });
      continue;
    }
    const top = await db.runAndReadAll(
      `SELECT ${v} AS v FROM ${train} WHERE ${v} IS NOT NULL GROUP BY 1
       HAVING count(*) >= ${spec.minCount} ORDER BY count(*) DESC, v LIMIT ${spec.topK}`,
    );
    const vocabulary = (top.getColumnsJS()[0] ?? []).map(String);
    categorical.push({ name: spec.name, sql, encoding: 'one-hot', vocabulary });
  }
  const fitted: FittedTransform = {
    version: 1,
    numeric,
    categorical,
    label: fittedLabel,
    fittedOnRows: trainRows,
  };
  return { ...fitted, inputs: await servingInputs(db, rows, fitted) };
}

/**
 * The source columns serving needs, typed: compiling every feature's SQL here refuses, before any
 * model exists, a feature serving could not compute exactly as DuckDB did (docs/pipelines.md).
 */
async function servingInputs(db: DuckDBConnection, rows: string, transform: FittedTransform) {
  const described = await db.runAndReadAll(`DESCRIBE SELECT * EXCLUDE (__split) FROM ${rows}`);
  const [names = [], types = []] = described.getColumnsJS() as string[][];
  const columns = names.map((name, i) => ({ name, type: types[i] ?? '' }));
  try {
    return featureInputColumns(transform, columns);
  } catch (error) {
    if (!(error instanceof FeatureProgramError)) throw error;
    throw new InvalidInputError(
      `${error.message}. Serving computes every feature from the source columns, so a feature's SQL must be one it can evaluate: rewrite it in the supported subset, or compute it in the source's sql and use the column`,
      { details: { feature: error.feature }, cause: error },
    );
  }
}

async function fitLabel(
  db: DuckDBConnection,
  rows: string,
  label: LabelSpec,
  labelExpr: string,
): Promise<FittedLabel> {
  const train = `(SELECT (${labelExpr}) AS y FROM ${rows} WHERE __split = 'train')`;
  const what = label.sql === undefined ? `label column "${label.column}"` : `label "${label.sql}"`;
  const present = await scalar(db, `SELECT count(y)::DOUBLE FROM ${train}`);
  if (present === 0) {
    throw new DataValidationError(
      `${what} is missing (NULL) on every training row: check the label definition`,
      { details: { label: labelExpr } },
    );
  }
  if (label.task === 'multiclass') {
    const result = await db.runAndReadAll(
      `SELECT DISTINCT CAST(y AS VARCHAR) AS c FROM ${train} WHERE y IS NOT NULL ORDER BY c`,
    );
    const classes = (result.getColumnsJS()[0] ?? []).map(String);
    if (classes.length < 2) throw constantLabel(what, classes[0]);
    return { task: 'multiclass', sql: labelExpr, classes };
  }
  const y = `TRY_CAST(y AS DOUBLE)`;
  const stats = await one(
    db,
    `SELECT min(${y}) AS lo, max(${y}) AS hi, avg(${y}) AS mean, stddev_pop(${y}) AS std, count(*) FILTER (WHERE y IS NOT NULL AND ${y} IS NULL)::DOUBLE AS bad,
            count(*) FILTER (WHERE ${y} NOT IN (0, 1))::DOUBLE AS notBinary
     FROM ${train}`,
  );
  if (Number(stats['bad']) > 0) {
    throw new DataValidationError(
      `${what} has ${Number(stats['bad'])} training values that are not numbers: use task "multiclass" or a numeric label`,
      { details: { label: labelExpr } },
    );
  }
  if (Number(stats['lo']) === Number(stats['hi'])) throw constantLabel(what, String(stats['lo']));
  if (label.task === 'binary') {
    if (Number(stats['notBinary']) > 0) {
      throw new DataValidationError(
        `${what} must be boolean or 0/1 for a binary task, but ${Number(stats['notBinary'])} training values are not: write it as a condition, e.g. "delay > 15"`,
        { details: { label: labelExpr } },
      );
    }
    return { task: 'binary', sql: labelExpr, classes: ['0', '1'] };
  }
  return {
    task: 'regression',
    sql: labelExpr,
    classes: [],
    scale: { mean: Number(stats['mean']), std: Number(stats['std']) },
    ...(label.unit === undefined ? {} : { unit: label.unit }),
  };
}

function constantLabel(what: string, value: string | undefined): DataValidationError {
  return new DataValidationError(
    `${what} is constant (${value ?? 'NULL'}) in the training split: a model needs at least two outcomes to learn from`,
    { details: { value } },
  );
}

async function one(db: DuckDBConnection, sql: string): Promise<Record<string, unknown>> {
  const result = await db.runAndReadAll(sql);
  return result.getRowObjectsJS()[0] ?? {};
}

async function scalar(db: DuckDBConnection, sql: string): Promise<number> {
  const result = await db.runAndReadAll(sql);
  return Number(result.getColumnsJS()[0]?.[0] ?? 0);
}

async function columnType(db: DuckDBConnection, sql: string): Promise<string> {
  const result = await db.runAndReadAll(`DESCRIBE ${sql}`);
  return (result.getColumnsJS()[1]?.[0] as string | undefined) ?? '';
}
