import type { ColumnFamily } from './contract.js';

/**
 * Dataset statistics (issue 3, item 4): the facts validation, contract inference, drift and reports
 * are computed from, so none of them has to scan the data again. Plain JSON, stored as a `statistics`
 * artifact; deterministic for the same bytes (no timestamps inside), so it content-addresses well.
 */
export interface DatasetStatistics {
  format: 'sluice.statistics/v1';
  /** What was measured: a name for humans and, when known, the content hash of the data. */
  dataset: { name: string; sha256?: string };
  rows: number;
  columns: ColumnStatistics[];
  method: StatisticsMethod;
}

/** How the numbers were obtained, so nobody mistakes an estimate for an exact count. */
export interface StatisticsMethod {
  /** DuckDB scans of the data: one for the aggregates, one grouped scan for histograms and top values. */
  passes: number;
  /** `approx_count_distinct` (HyperLogLog, typically within a few percent); exact for text columns. */
  distinct: 'approximate';
  /** `quantile_cont` over all values: exact, linearly interpolated. */
  quantiles: 'exact';
  /** Most frequent values kept per text column, counted exactly. */
  topK: number;
  histogramBins: number;
}

export const quantileNames = ['p01', 'p05', 'p25', 'p50', 'p75', 'p95', 'p99'] as const;
export type QuantileName = (typeof quantileNames)[number];
export const quantileLevels: Record<QuantileName, number> = {
  p01: 0.01,
  p05: 0.05,
  p25: 0.25,
  p50: 0.5,
  p75: 0.75,
  p95: 0.95,
  p99: 0.99,
};

/** A value as statistics report it: numbers as numbers, dates and timestamps as ISO-8601 text. */
export type StatValue = number | string | boolean;

export interface ColumnStatistics {
  name: string;
  /** The DuckDB type, e.g. `BIGINT`. */
  type: string;
  family: ColumnFamily;
  /** Non-null values (NaN and ±Infinity included). */
  count: number;
  nulls: number;
  /** nulls / rows (0 for an empty dataset). */
  nullFraction: number;
  /** Distinct non-null values: approximate (HyperLogLog) except for text, where it is exact. */
  distinct: number;
  /** Over finite values for floats; `null` when there are none. */
  min: StatValue | null;
  max: StatValue | null;
  /** Numbers only, over finite values. */
  mean?: number | null;
  std?: number | null;
  /** Numbers, dates and timestamps. */
  quantiles?: Record<QuantileName, StatValue> | null;
  histogram?: Histogram | null;
  /** Strings and booleans: the most frequent values with exact counts, most frequent first. */
  topK?: TopValue[];
  /** True when `topK` lists every distinct value (it is the complete frequency table). */
  topKComplete?: boolean;
  /** Floats only. */
  nan?: number;
  posInf?: number;
  negInf?: number;
  /** Strings only: shortest and longest value, in characters. */
  minLength?: number | null;
  maxLength?: number | null;
}

/**
 * Equal-width bins from `lo` to `hi` over finite values: bin `i` covers `[lo + i·w, lo + (i+1)·w)` and
 * the last bin includes `hi`. Integers with a small range get one bin per integer (edges at
 * half-integers). Dates and timestamps are binned on epoch milliseconds (`unit`).
 */
export interface Histogram {
  lo: number;
  hi: number;
  counts: number[];
  unit?: 'epoch-ms';
}

export interface TopValue {
  value: string | number | boolean;
  count: number;
}

/** The edges of a histogram's bins: `counts.length + 1` numbers from `lo` to `hi`. */
export function histogramEdges(histogram: Histogram): number[] {
  const bins = histogram.counts.length;
  const width = (histogram.hi - histogram.lo) / bins;
  return Array.from({ length: bins + 1 }, (_, i) => (i === bins ? histogram.hi : histogram.lo + i * width));
}
