import type { FittedCategorical, FittedLabel, FittedTransform } from '../../pipelines/transform.js';
import { sqlString } from '../../lib/duckdb.js';
import { hash32Sql } from '../../lib/model/hash-bucket.js';
import { sqlDouble, sqlIdent } from './source.js';

/**
 * SQL generated from a fitted transform: the batch half of docs/architecture.md decision 9. Its online twin is
 * `transform-online.ts`; both follow the same recipe step by step so they agree to the last bit:
 *
 * - numeric: `TRY_CAST(x AS DOUBLE)`; missing, NaN or infinite → `fill`; `(x - mean) / std`; FLOAT.
 *   With an indicator, a 0/1 column follows.
 * - categorical one-hot: `CAST(x AS VARCHAR)`; vocabulary index, anything else (or NULL) → OOV bucket.
 * - categorical hash: md5 bucket of the text (NULL hashes as the empty string).
 */

/** The raw inputs of every feature, named by feature: what a serving request must carry. */
export function featureInputsSql(transform: FittedTransform): string[] {
  return [
    ...transform.numeric.map((f) => `TRY_CAST((${f.sql}) AS DOUBLE) AS ${sqlIdent(f.name)}`),
    ...transform.categorical.map((f) => `CAST((${f.sql}) AS VARCHAR) AS ${sqlIdent(f.name)}`),
  ];
}

/** The label as DuckDB computes it: DOUBLE 0/1, class index, or target value; NULL drops the row. */
export function labelSql(label: FittedLabel): string {
  switch (label.task) {
    case 'binary':
    case 'regression':
      return `TRY_CAST((${label.sql}) AS DOUBLE)`;
    case 'multiclass': {
      const cases = label.classes.map((c, i) => `WHEN ${sqlString(c)} THEN ${i}`).join(' ');
      return `(CASE CAST((${label.sql}) AS VARCHAR) ${cases} ELSE NULL END)::DOUBLE`;
    }
  }
}

/**
 * The FLOAT feature columns `f0 … f{d-1}` over a relation that has the feature inputs as columns
 * (see {@link featureInputsSql}), in {@link transformOutputNames} order.
 */
export function transformColumnsSql(transform: FittedTransform): string[] {
  const columns: string[] = [];
  for (const f of transform.numeric) {
    const x = sqlIdent(f.name);
    const missing = `(${x} IS NULL OR NOT isfinite(${x}))`;
    const filled = `(CASE WHEN ${missing} THEN ${sqlDouble(f.fill)} ELSE ${x} END)`;
    columns.push(`CAST((${filled} - ${sqlDouble(f.mean)}) / ${sqlDouble(f.std)} AS FLOAT)`);
    if (f.indicator) columns.push(`CAST(CASE WHEN ${missing} THEN 1 ELSE 0 END AS FLOAT)`);
  }
  for (const f of transform.categorical) {
    const index = categoryIndexSql(f);
    const width = f.encoding === 'one-hot' ? f.vocabulary.length + 1 : f.buckets;
    for (let i = 0; i < width; i++)
      columns.push(`CAST(CASE WHEN ${index} = ${i} THEN 1 ELSE 0 END AS FLOAT)`);
  }
  return columns.map((sql, i) => `${sql} AS f${i}`);
}

function categoryIndexSql(f: FittedCategorical): string {
  const x = sqlIdent(f.name);
  if (f.encoding === 'hash') return `(${hash32Sql(`COALESCE(${x}, '')`)} % ${f.buckets})`;
  if (f.vocabulary.length === 0) return '0';
  const cases = f.vocabulary.map((value, i) => `WHEN ${sqlString(value)} THEN ${i}`).join(' ');
  return `(CASE ${x} ${cases} ELSE ${f.vocabulary.length} END)`;
}

/**
 * One query giving `f0 … f{d-1}`, `__label` and any `extra` expressions (slice and group columns) for
 * the rows of `relation` where `where` holds. The feature inputs are computed in an inner query so each
 * derived feature's SQL runs once per row.
 */
export function transformQuery(
  transform: FittedTransform,
  relation: string,
  options: { where?: string; extra?: Record<string, string>; limit?: number } = {},
): string {
  const extra = Object.entries(options.extra ?? {}).map(([name, sql]) => `(${sql}) AS ${sqlIdent(name)}`);
  const inner = [...featureInputsSql(transform), `${labelSql(transform.label)} AS __label`, ...extra];
  const outer = [
    ...transformColumnsSql(transform),
    'CAST(__label AS FLOAT) AS __label',
    ...Object.keys(options.extra ?? {}).map(sqlIdent),
  ];
  const where = options.where ? ` WHERE ${options.where}` : '';
  const limit = options.limit === undefined ? '' : ` LIMIT ${options.limit}`;
  return `SELECT ${outer.join(', ')} FROM (SELECT ${inner.join(', ')} FROM ${relation}${where}) WHERE __label IS NOT NULL${limit}`;
}
