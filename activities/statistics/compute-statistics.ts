import type { DuckDBConnection } from '@duckdb/node-api';
import { typeFamily } from '../../pipelines/contract.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import {
  quantileNames,
  type ColumnStatistics,
  type DatasetStatistics,
  type Histogram,
  type QuantileName,
  type StatValue,
  type TopValue,
} from '../../pipelines/statistics.js';
import { datasetReader, type DatasetFormat } from '../dataset-reader.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { epochMsToIso, readOneRow, toCount, toNumber, type DuckValue } from '../../lib/duckdb-values.js';
import {
  alias,
  binPlan,
  secondPassSql,
  summarySql,
  type ColumnInfo,
  type SecondPassItem,
} from './statistics-sql.js';

export interface StatisticsOptions {
  /** How the dataset is named in the statistics and reports (a file name, a step). */
  name: string;
  /** Content hash of the data, when known (it is for artifacts). */
  sha256?: string;
  /** Default: from the file extension. */
  format?: DatasetFormat;
  /** Most frequent values kept per string column. Default 20. */
  topK?: number;
  /** Histogram bins per numeric column. Default 20. */
  bins?: number;
}

/** Statistics and what they cost, pass by pass. */
export interface StatisticsRun {
  statistics: DatasetStatistics;
  timings: { describeMs: number; firstPassMs: number; secondPassMs: number };
}

/**
 * Compute statistics of a dataset file with DuckDB: one pass for every aggregate of every column, and
 * one cheaper grouped pass for what needs the first (histogram bins need min/max) and for the exact top
 * values of text columns. No row ever reaches JavaScript: the second pass returns a few hundred groups.
 *
 * @throws InvalidInputError when the file cannot be read, naming it and DuckDB's reason.
 */
export async function computeStatistics(path: string, options: StatisticsOptions): Promise<StatisticsRun> {
  const relation = datasetReader(path, options.format);
  return withDuckDB(async (db) => {
    try {
      return await statisticsOf(db, relation, options);
    } catch (error) {
      if (error instanceof InvalidInputError) throw error;
      throw unreadable(options.name, path, error);
    }
  });
}

/** {@link computeStatistics} over any relation of an open connection (a view, a table function). */
export async function statisticsOf(
  db: DuckDBConnection,
  relation: string,
  options: StatisticsOptions,
): Promise<StatisticsRun> {
  const topK = options.topK ?? 20;
  const bins = options.bins ?? 20;
  let started = performance.now();
  const columns = await describeRelation(db, relation);
  const describeMs = performance.now() - started;

  started = performance.now();
  const first = await readOneRow(db, summarySql(relation, columns));
  const firstPassMs = performance.now() - started;
  const get = (index: number, stat: string): DuckValue => first[alias(index, stat)] ?? null;
  const rows = toCount(first['total_rows']);

  const items: SecondPassItem[] = [];
  const stats = columns.map((column, index) => {
    const result = summarise(column, rows, (stat) => get(index, stat));
    const { family } = column;
    const numeric = family === 'integer' || family === 'decimal' || family === 'float';
    if (numeric || family === 'date' || family === 'timestamp') {
      const lo = toNumber(get(index, 'min'));
      const hi = toNumber(get(index, 'max'));
      const finite = result.count - (result.nan ?? 0) - (result.posInf ?? 0) - (result.negInf ?? 0);
      if (lo === null || hi === null || finite === 0) {
        result.histogram = null;
      } else {
        const plan = binPlan(family, lo, hi, bins);
        const unit = numeric ? {} : { unit: 'epoch-ms' as const };
        if (plan) items.push({ kind: 'histogram', index, column, plan });
        result.histogram = plan
          ? { lo: plan.lo, hi: plan.hi, counts: new Array<number>(plan.bins).fill(0), ...unit }
          : { lo, hi, counts: [finite], ...unit };
      }
    }
    if (family === 'string') {
      if (result.count > 0) items.push({ kind: 'top', index, column });
      result.topK = [];
      result.topKComplete = true;
    }
    return result;
  });

  started = performance.now();
  if (items.length > 0) {
    const second = (await db.runAndReadAll(secondPassSql(relation, items, topK))).getColumnsObjectJS();
    const sids = second['sid'] ?? [];
    sids.forEach((sidValue, row) => {
      const sid = toNumber(sidValue) ?? -1;
      const item = items[sid];
      if (!item) return;
      const target = stats[item.index] as ColumnStatistics;
      const key = second[`k${sid}`]?.[row];
      const n = toCount(second['n']?.[row]);
      if (item.kind === 'histogram') {
        const counts = (target.histogram as Histogram).counts;
        const bin = toNumber(key);
        if (bin !== null && bin >= 0 && bin < counts.length) counts[bin] = n;
      } else {
        (target.topK as TopValue[]).push({ value: textOrNull(key) ?? '', count: n });
        // Every group of the column came back: the top values are its complete frequency table.
        const groups = toCount(second['groups']?.[row]);
        target.topKComplete = groups <= topK;
        target.distinct = groups;
      }
    });
    for (const item of items) {
      const target = stats[item.index] as ColumnStatistics;
      if (item.kind === 'top') target.topK = rankTop(target.topK ?? []);
    }
  }
  const secondPassMs = items.length > 0 ? performance.now() - started : 0;

  const statistics: DatasetStatistics = {
    format: 'sluice.statistics/v1',
    dataset: { name: options.name, ...(options.sha256 ? { sha256: options.sha256 } : {}) },
    rows,
    columns: stats,
    method: {
      passes: items.length > 0 ? 2 : 1,
      distinct: 'approximate',
      quantiles: 'exact',
      topK,
      histogramBins: bins,
    },
  };
  return { statistics, timings: { describeMs, firstPassMs, secondPassMs } };
}

/** The columns of a relation, with their DuckDB types and families. */
export async function describeRelation(db: DuckDBConnection, relation: string): Promise<ColumnInfo[]> {
  const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM ${relation}`);
  const { column_name: names = [], column_type: types = [] } = described.getColumnsObjectJS();
  return names.map((name, i) => {
    const type = textOrNull(types[i]) ?? '';
    return { name: textOrNull(name) ?? '', type, family: typeFamily(type) };
  });
}

function summarise(column: ColumnInfo, rows: number, get: (stat: string) => DuckValue): ColumnStatistics {
  const count = toCount(get('count'));
  const nulls = rows - count;
  const base: ColumnStatistics = {
    name: column.name,
    type: column.type,
    family: column.family,
    count,
    nulls,
    nullFraction: rows === 0 ? 0 : nulls / rows,
    // HyperLogLog can overshoot on tiny columns; it can never be more than the values counted.
    distinct: Math.min(toCount(get('distinct')), count),
    min: null,
    max: null,
  };
  switch (column.family) {
    case 'integer':
    case 'decimal':
    case 'float': {
      const extra =
        column.family === 'float'
          ? { nan: toCount(get('nan')), posInf: toCount(get('posinf')), negInf: toCount(get('neginf')) }
          : {};
      return {
        ...base,
        min: toNumber(get('min')),
        max: toNumber(get('max')),
        mean: toNumber(get('mean')),
        std: toNumber(get('std')),
        quantiles: quantiles(get('q'), (value) => toNumber(value)),
        ...extra,
      };
    }
    case 'date':
    case 'timestamp': {
      const day = (iso: string | null): string | null =>
        iso !== null && column.family === 'date' ? iso.slice(0, 10) : iso;
      return {
        ...base,
        min: day(epochMsToIso(get('min'))),
        max: day(epochMsToIso(get('max'))),
        quantiles: quantiles(get('q'), epochMsToIso),
      };
    }
    case 'string':
      return {
        ...base,
        min: textOrNull(get('min')),
        max: textOrNull(get('max')),
        minLength: toNumber(get('minlen')),
        maxLength: toNumber(get('maxlen')),
      };
    case 'boolean': {
      const trues = toCount(get('true'));
      const falses = count - trues;
      return {
        ...base,
        min: count === 0 ? null : falses === 0,
        max: count === 0 ? null : trues > 0,
        topK: rankTop([
          { value: true, count: trues },
          { value: false, count: falses },
        ]),
        topKComplete: true,
      };
    }
    case 'time':
      return { ...base, min: textOrNull(get('min')), max: textOrNull(get('max')) };
    case 'other':
      return base;
    default: {
      const never: never = column.family;
      throw new Error(`unknown column family ${String(never)}`);
    }
  }
}

function quantiles(
  value: DuckValue,
  convert: (value: DuckValue) => StatValue | null,
): Record<QuantileName, StatValue> | null {
  if (!Array.isArray(value)) return null;
  const entries = quantileNames.map((name, i) => [name, convert(value[i])] as const);
  if (entries.some(([, v]) => v === null)) return null;
  return Object.fromEntries(entries) as Record<QuantileName, StatValue>;
}

/** Most frequent first; ties by value, so the same data always gives the same list. */
function rankTop(values: TopValue[]): TopValue[] {
  return values
    .filter((top) => top.count > 0)
    .sort((a, b) => b.count - a.count || String(a.value).localeCompare(String(b.value)));
}

function textOrNull(value: DuckValue): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string'
    ? value
    : JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** The error for a dataset DuckDB cannot read, with DuckDB's first line as the reason. */
export function unreadable(name: string, path: string, error: unknown): InvalidInputError {
  const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  return new InvalidInputError(
    `dataset ${name} (${path}) cannot be read: ${reason}; check that the file is complete and in the format its extension says`,
    { cause: error, details: { dataset: name, path } },
  );
}
