import type { ColumnStatistics, StatValue } from '../../pipelines/statistics.js';
import { histogramEdges } from '../../pipelines/statistics.js';

/** A statistic as a person reads it: 6 significant digits, thousands separators for counts. */
export function show(value: StatValue | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (typeof value === 'number') {
    if (Number.isInteger(value) && Math.abs(value) < 1e15) return value.toLocaleString('en-US');
    return Number(value.toPrecision(6)).toString();
  }
  return String(value);
}

/** A share as a percentage, with more digits for tiny shares so 3 nulls in 3 million is not "0.00%". */
export function percent(fraction: number): string {
  if (fraction > 0 && fraction < 0.0001) return `${(fraction * 100).toPrecision(2)}%`;
  return `${(fraction * 100).toFixed(2)}%`;
}

/** Labels of a column's histogram bins (`lo – hi`), dates and timestamps as ISO text. */
export function binLabels(column: ColumnStatistics): string[] {
  if (!column.histogram) return [];
  const edges = histogramEdges(column.histogram);
  const temporal = column.histogram.unit === 'epoch-ms';
  const label = (edge: number): string => (temporal ? new Date(edge).toISOString().slice(0, 19) : show(edge));
  return column.histogram.counts.map(
    (_, i) => `${label(edges[i] as number)} – ${label(edges[i + 1] as number)}`,
  );
}

/** The one-line summary of a column shown in overview tables. */
export function overviewRow(column: ColumnStatistics): string[] {
  return [
    column.name,
    column.type,
    `${show(column.nulls)} (${percent(column.nullFraction)})`,
    `≈${show(column.distinct)}`,
    show(column.min),
    show(column.max),
    show(column.mean),
    show(column.std),
  ];
}

export const overviewHeader = ['column', 'type', 'nulls', 'distinct', 'min', 'max', 'mean', 'std'];
