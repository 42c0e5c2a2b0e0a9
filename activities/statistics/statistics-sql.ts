import type { ColumnFamily } from '../../pipelines/contract.js';
import { quantileLevels, quantileNames } from '../../pipelines/statistics.js';
import { sqlIdentifier } from '../../lib/sql-text.js';

/** A column as DuckDB describes it, with the family statistics are computed by. */
export interface ColumnInfo {
  name: string;
  type: string;
  family: ColumnFamily;
}

/** The alias of statistic `stat` of column number `index` in the generated queries. */
export function alias(index: number, stat: string): string {
  return `c${index}_${stat}`;
}

const levels = `[${quantileNames.map((name) => quantileLevels[name]).join(', ')}]`;

/**
 * The first (and main) statistics pass: ONE `SELECT` over the relation with every aggregate of every
 * column, so DuckDB scans the data once and computes all of it in parallel. Floats are summarised over
 * finite values, with NaN and ±Infinity counted apart (JSON cannot hold them and they would poison
 * means). Dates and timestamps come back as epoch milliseconds.
 */
export function summarySql(relation: string, columns: readonly ColumnInfo[]): string {
  const parts = ['count(*) AS total_rows'];
  columns.forEach((column, i) => {
    const x = sqlIdentifier(column.name);
    const as = (stat: string): string => ` AS ${alias(i, stat)}`;
    parts.push(`count(${x})${as('count')}`, `approx_count_distinct(${x})${as('distinct')}`);
    switch (column.family) {
      case 'integer':
      case 'decimal':
      case 'float': {
        const only = column.family === 'float' ? ` FILTER (WHERE isfinite(${x}))` : '';
        parts.push(
          `min(${x})${only}::DOUBLE${as('min')}`,
          `max(${x})${only}::DOUBLE${as('max')}`,
          `avg(${x})${only}::DOUBLE${as('mean')}`,
          `stddev_samp(${x})${only}::DOUBLE${as('std')}`,
          `quantile_cont(${x}, ${levels})${only}::DOUBLE[]${as('q')}`,
        );
        if (column.family === 'float') {
          parts.push(
            `count_if(isnan(${x}))${as('nan')}`,
            `count_if(${x} = 'infinity'::DOUBLE)${as('posinf')}`,
            `count_if(${x} = '-infinity'::DOUBLE)${as('neginf')}`,
          );
        }
        break;
      }
      case 'date':
      case 'timestamp': {
        const t = column.family === 'date' ? `${x}::TIMESTAMP` : x;
        parts.push(
          `epoch_ms(min(${t}))${as('min')}`,
          `epoch_ms(max(${t}))${as('max')}`,
          `list_transform(quantile_cont(${t}, ${levels}), q -> epoch_ms(q))${as('q')}`,
        );
        break;
      }
      case 'string': {
        const s = column.type === 'VARCHAR' ? x : `${x}::VARCHAR`;
        parts.push(
          `min(${s})${as('min')}`,
          `max(${s})${as('max')}`,
          `min(length(${s}))${as('minlen')}`,
          `max(length(${s}))${as('maxlen')}`,
        );
        break;
      }
      case 'boolean':
        parts.push(`count_if(${x})${as('true')}`);
        break;
      case 'time':
        parts.push(`min(${x})::VARCHAR${as('min')}`, `max(${x})::VARCHAR${as('max')}`);
        break;
      case 'other':
        break;
      default: {
        const never: never = column.family;
        throw new Error(`unknown column family ${String(never)}`);
      }
    }
  });
  return `SELECT ${parts.join(',\n  ')}\nFROM ${relation}`;
}

/** Equal-width bins for one column, chosen from the first pass's min and max. */
export interface BinPlan {
  lo: number;
  hi: number;
  bins: number;
}

/**
 * Bins for a numeric or temporal column: `bins` equal-width bins from min to max; for integers with a
 * small range, one bin per integer (centred on it), so a 0–5 rating gets 6 honest bars, not 20 with
 * gaps. `null` when every value is the same (one bin, counted without a query).
 */
export function binPlan(family: ColumnFamily, min: number, max: number, bins: number): BinPlan | null {
  if (!(max > min)) return null;
  if (family === 'integer' && max - min + 1 <= bins) {
    return { lo: min - 0.5, hi: max + 0.5, bins: max - min + 1 };
  }
  return { lo: min, hi: max, bins };
}

/** What the second pass computes for one column: its histogram, or its most frequent values. */
export type SecondPassItem =
  | { kind: 'histogram'; index: number; column: ColumnInfo; plan: BinPlan }
  | { kind: 'top'; index: number; column: ColumnInfo };

/**
 * The second pass, for what needs the first: histogram bins need min/max, and the top values of text
 * columns are counted exactly. ONE `SELECT` scans the data once and groups it by every item at the same
 * time (`GROUPING SETS`): a histogram is a group-by on the bin number
 * `least(floor((v − lo) / w), bins − 1)`, so bin `i` holds `[lo + i·w, lo + (i+1)·w)` and the last one
 * includes `hi`; a text column is a group-by on its value. DuckDB keeps only the `topK` largest groups
 * of each text column (and tells how many there were: an exact distinct count), so the result is a
 * few hundred rows whatever the data.
 *
 * Result columns: `sid` (the item's position), `k<sid>` (its key), `n` (rows), `groups` (groups in
 * that set).
 */
export function secondPassSql(relation: string, items: readonly SecondPassItem[], topK: number): string {
  const keys = items.map((item, sid) => `${keyExpression(item)} AS k${sid}`);
  const names = items.map((_, sid) => `k${sid}`);
  const sid = `CASE ${names.map((k, i) => `WHEN grouping(${k}) = 0 THEN ${i}`).join(' ')} END`;
  const nullKey = `CASE sid ${names.map((k, i) => `WHEN ${i} THEN ${k} IS NULL`).join(' ')} END`;
  const histograms = items.flatMap((item, i) => (item.kind === 'histogram' ? [i] : []));
  const texts = items.flatMap((item, i) => (item.kind === 'top' ? [`k${i}`] : []));
  const keep = [
    histograms.length > 0 ? `sid IN (${histograms.join(', ')})` : '',
    texts.length > 0
      ? `row_number() OVER (PARTITION BY sid ORDER BY n DESC, ${texts.length === 1 ? texts[0] : `coalesce(${texts.join(', ')})`}) <= ${topK}`
      : '',
  ].filter(Boolean);
  return `WITH t AS (SELECT ${keys.join(', ')} FROM ${relation}),
g AS (SELECT ${sid} AS sid, ${names.join(', ')}, count(*) AS n FROM t GROUP BY GROUPING SETS (${names.map((k) => `(${k})`).join(', ')})),
v AS (SELECT * FROM g WHERE NOT (${nullKey}))
SELECT sid, ${names.join(', ')}, n, count(*) OVER (PARTITION BY sid) AS groups FROM v
QUALIFY ${keep.join(' OR ')}`;
}

/** The value an item groups by: the bin number of a number or date, or the text itself. */
function keyExpression(item: SecondPassItem): string {
  const x = sqlIdentifier(item.column.name);
  if (item.kind === 'top') return item.column.type === 'VARCHAR' ? x : `${x}::VARCHAR`;
  const { lo, hi, bins } = item.plan;
  const family = item.column.family;
  const v =
    family === 'date'
      ? `epoch_ms(${x}::TIMESTAMP)::DOUBLE`
      : family === 'timestamp'
        ? `epoch_ms(${x})::DOUBLE`
        : `${x}::DOUBLE`;
  const bin = `least(floor((${v} - ${String(lo)}) / ${String((hi - lo) / bins)}), ${bins - 1})::INTEGER`;
  return family === 'float' ? `CASE WHEN isfinite(${x}) THEN ${bin} END` : bin;
}
