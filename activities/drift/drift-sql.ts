import type { ColumnFamily } from '../../pipelines/contract.js';
import { sqlIdentifier, sqlLiteral } from '../../lib/sql-text.js';

/** A feature as drift compares it. */
export interface DriftFeature {
  column: string;
  family: ColumnFamily;
  kind: 'numeric' | 'categorical';
}

/** The numeric value of a feature in SQL: numbers as DOUBLE, dates and timestamps as epoch ms. */
export function numericValue(feature: DriftFeature): string {
  const x = sqlIdentifier(feature.column);
  if (feature.family === 'date') return `epoch_ms(${x}::TIMESTAMP)::DOUBLE`;
  if (feature.family === 'timestamp') return `epoch_ms(${x})::DOUBLE`;
  return `${x}::DOUBLE`;
}

function text(feature: DriftFeature): string {
  return `${sqlIdentifier(feature.column)}::VARCHAR`;
}

/**
 * One pass over the reference: the quantiles that become numeric bin edges, and the most frequent
 * values that become categorical bins.
 */
export function referenceBinsSql(
  relation: string,
  features: readonly DriftFeature[],
  bins: number,
  categories: number,
): string {
  const levels = Array.from({ length: bins - 1 }, (_, i) => (i + 1) / bins);
  const parts = features.map((feature, i) => {
    if (feature.kind === 'categorical') return `approx_top_k(${text(feature)}, ${categories}) AS f${i}`;
    const v = numericValue(feature);
    return `quantile_cont(${v}, [${levels.join(', ')}]) FILTER (WHERE isfinite(${v})) AS f${i}`;
  });
  return `SELECT count(*) AS total_rows, ${parts.join(', ')} FROM ${relation}`;
}

/** How one side's rows fall into a feature's bins. */
export type BinSpec = { kind: 'numeric'; edges: number[] } | { kind: 'categorical'; values: string[] };

/**
 * One pass over one side counting every feature's bins: numeric values with DuckDB's
 * `histogram(value, edges)` (right-closed bins, overflow above the last edge), categorical values by
 * their position in the reference's top list (anything else is `(other)`), and the missing values
 * (null, or NaN) of each feature.
 */
export function binCountsSql(
  relation: string,
  features: readonly DriftFeature[],
  specs: readonly BinSpec[],
): string {
  const parts = features.flatMap((feature, i) => {
    const spec = specs[i] as BinSpec;
    if (spec.kind === 'categorical') {
      const x = sqlIdentifier(feature.column);
      const list = `[${spec.values.map((value) => sqlLiteral(value)).join(', ')}]`;
      return [
        `histogram(list_position(${list}, ${text(feature)})) AS f${i}_bins`,
        `count(${x}) AS f${i}_present`,
      ];
    }
    const v = numericValue(feature);
    return [
      `histogram(${v}, [${spec.edges.map(String).join(', ')}]::DOUBLE[]) FILTER (WHERE NOT isnan(${v})) AS f${i}_bins`,
      `count_if(${v} IS NULL OR isnan(${v})) AS f${i}_missing`,
    ];
  });
  return `SELECT count(*) AS total_rows, ${parts.join(', ')} FROM ${relation}`;
}

/**
 * The two-sample Kolmogorov–Smirnov statistic computed inside DuckDB: each side grouped by distinct
 * value, joined, cumulated in value order with a window, and the largest gap between the two empirical
 * CDFs taken, so no value column ever reaches JavaScript. Missing values are left out.
 */
export function ksSql(reference: string, current: string, feature: DriftFeature): string {
  const v = numericValue(feature);
  const side = (relation: string): string =>
    `SELECT ${v} AS v, count(*) AS n FROM ${relation} WHERE ${v} IS NOT NULL AND NOT isnan(${v}) GROUP BY ALL`;
  return `WITH r AS (${side(reference)}), c AS (${side(current)}),
  j AS (SELECT coalesce(r.v, c.v) AS v, coalesce(r.n, 0) AS rn, coalesce(c.n, 0) AS cn
        FROM r FULL OUTER JOIN c ON r.v = c.v),
  totals AS (SELECT (SELECT sum(n) FROM r)::DOUBLE AS nr, (SELECT sum(n) FROM c)::DOUBLE AS nc),
  cdf AS (SELECT sum(rn) OVER w AS cr, sum(cn) OVER w AS cc FROM j
          WINDOW w AS (ORDER BY v ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
SELECT coalesce(max(abs(cr / nr - cc / nc)), 0) AS d, any_value(nr) AS nr, any_value(nc) AS nc
FROM cdf, totals`;
}
