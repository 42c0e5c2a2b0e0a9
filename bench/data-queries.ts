import { sqlString } from '../lib/duckdb.js';

/** The contract the bench validates: stat checks, two regex scans and a custom SQL check. */
export const benchContract = {
  columns: {
    date: { type: 'timestamp', nullable: false, min: '2001-01-01', max: '2001-12-31' },
    delay: { type: 'integer', nullable: false, min: -1500, max: 2000 },
    distance: { type: 'integer', nullable: false, min: 1, max: 6000 },
    origin: { type: 'string', nullable: false, regex: '[A-Z]{3}' },
    destination: { type: 'string', nullable: false, regex: '[A-Z]{3}' },
  },
  rows: { min: 1_000_000 },
  unexpectedColumns: 'error',
  checks: [{ name: 'no-round-trips', sql: 'SELECT * FROM dataset WHERE origin = destination' }],
} as const;

const levels = '[0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]';

/**
 * The same statistics as Sluice computes, as a data engineer would write them in one statement:
 * aggregates and exact quantiles, 20-bin histograms between min and max, the 20 most frequent values of
 * each text column with counts.
 */
export function referenceSql(file: string): string {
  const f = `read_parquet(${sqlString(file)})`;
  const numeric = (c: string): string =>
    `count(${c}) AS ${c}_count, approx_count_distinct(${c}) AS ${c}_distinct, min(${c}) AS ${c}_min, max(${c}) AS ${c}_max, ` +
    `avg(${c}) AS ${c}_mean, stddev_samp(${c}) AS ${c}_std, quantile_cont(${c}, ${levels}) AS ${c}_q`;
  const text = (c: string): string =>
    `count(${c}) AS ${c}_count, approx_count_distinct(${c}) AS ${c}_distinct, min(${c}) AS ${c}_min, max(${c}) AS ${c}_max, ` +
    `min(length(${c})) AS ${c}_minlen, max(length(${c})) AS ${c}_maxlen`;
  const hist = (c: string, v: string): string =>
    `histogram(least(floor((${v} - ${c}_lo) / ((${c}_hi - ${c}_lo) / 20)), 19)) AS ${c}_hist`;
  const top = (c: string): string =>
    `(SELECT list({value: v, count: n}) FROM (SELECT ${c} AS v, count(*) AS n FROM ${f} GROUP BY ALL ORDER BY n DESC LIMIT 20)) AS ${c}_top`;
  return `WITH s AS (
  SELECT count(*) AS n, count(date) AS date_count, approx_count_distinct(date) AS date_distinct,
    min(date) AS date_min, max(date) AS date_max, quantile_cont(date, ${levels}) AS date_q,
    ${numeric('delay')}, ${numeric('distance')}, ${text('origin')}, ${text('destination')}
  FROM ${f}),
b AS (SELECT epoch_ms(date_min)::DOUBLE AS date_lo, epoch_ms(date_max)::DOUBLE AS date_hi,
    delay_min::DOUBLE AS delay_lo, delay_max::DOUBLE AS delay_hi,
    distance_min::DOUBLE AS distance_lo, distance_max::DOUBLE AS distance_hi FROM s),
h AS (SELECT ${hist('date', 'epoch_ms(date)')}, ${hist('delay', 'delay')}, ${hist('distance', 'distance')} FROM ${f}, b)
SELECT s.*, h.*, ${top('origin')}, ${top('destination')} FROM s, h`;
}
