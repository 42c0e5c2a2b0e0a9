import type { ColumnFamily } from '../../pipelines/contract.js';
import { quantileLevels, quantileNames } from '../../pipelines/statistics.js';
import { sqlIdentifier, sqlLiteral } from '../sql-text.js';

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
export function summarySql(relation: string, columns: readonly ColumnInfo[], topK: number): string {
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
          `approx_top_k(${s}, ${topK})${as('top')}`,
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

/** What the second pass computes for one column: its histogram, or the counts of its top values. */
export type SecondPassItem =
  | { kind: 'histogram'; index: number; column: ColumnInfo; plan: BinPlan }
  | { kind: 'top'; index: number; column: ColumnInfo; values: string[] };

/**
 * The second pass: histograms need the first pass's min/max, and `approx_top_k` names the top values
 * without counting them, so both ride on one more `SELECT` (one more scan, measured in the data bench).
 * Histograms use DuckDB's `histogram(value, boundaries)`: bin `i` holds values in
 * `(edge[i], edge[i+1]]`, the first also everything at or below its upper edge (so `lo` itself), the
 * last everything above `edge[bins-1]` (so `hi`).
 */
export function secondPassSql(relation: string, items: readonly SecondPassItem[]): string {
  const parts = items.map((item) => {
    const x = sqlIdentifier(item.column.name);
    if (item.kind === 'top') {
      const s = item.column.type === 'VARCHAR' ? x : `${x}::VARCHAR`;
      const list = `[${item.values.map((value) => sqlLiteral(value)).join(', ')}]`;
      return `histogram(list_position(${list}, ${s})) AS ${alias(item.index, 'topcounts')}`;
    }
    const family = item.column.family;
    const v =
      family === 'date'
        ? `epoch_ms(${x}::TIMESTAMP)::DOUBLE`
        : family === 'timestamp'
          ? `epoch_ms(${x})::DOUBLE`
          : `${x}::DOUBLE`;
    const only = family === 'float' ? ` FILTER (WHERE isfinite(${x}))` : '';
    const bounds = innerEdges(item.plan).map(String).join(', ');
    return `histogram(${v}, [${bounds}]::DOUBLE[])${only} AS ${alias(item.index, 'hist')}`;
  });
  return `SELECT ${parts.join(',\n  ')}\nFROM ${relation}`;
}

/** The `bins - 1` edges between bins (DuckDB's histogram boundaries). */
export function innerEdges(plan: BinPlan): number[] {
  const width = (plan.hi - plan.lo) / plan.bins;
  return Array.from({ length: plan.bins - 1 }, (_, i) => plan.lo + (i + 1) * width);
}

/**
 * Which bin a key of DuckDB's histogram map stands for: the overflow key (+Infinity for DOUBLE) is the
 * last bin, any other key is the upper edge of its bin.
 */
export function binOfKey(plan: BinPlan, key: number | null): number {
  const edges = innerEdges(plan);
  if (key === null || !Number.isFinite(key) || edges.length === 0) return plan.bins - 1;
  let best = 0;
  for (let i = 1; i < edges.length; i++) {
    if (Math.abs((edges[i] as number) - key) < Math.abs((edges[best] as number) - key)) best = i;
  }
  return best;
}
