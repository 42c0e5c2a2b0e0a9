import type { DuckDBConnection } from '@duckdb/node-api';
import type { ContractInput } from '../../pipelines/contract.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { ColumnStatistics, DatasetStatistics } from '../../pipelines/statistics.js';
import type { DatasetFormat } from '../dataset-reader.js';
import { withDatasetView } from '../dataset-view.js';
import { sqlString } from '../../lib/duckdb.js';
import { readOneRow } from '../../lib/duckdb-values.js';
import { sqlIdentifier } from '../../lib/sql-text.js';
import { computeStatistics, unreadable } from '../statistics/compute-statistics.js';

type ColumnInput = NonNullable<ContractInput['columns']>[string];

export interface InferOptions {
  /** Bounds are widened by this share of the observed range (default 0.1 = 10%). */
  margin?: number;
  /** Text columns with at most this many distinct values get an `allowed` list (default 20). */
  maxAllowed?: number;
}

/** What the data proved beyond its statistics (exact checks run at inference time). */
export interface InferEvidence {
  /** Columns whose non-null values are exactly unique and never null. */
  unique: ReadonlySet<string>;
  /** A whole-value pattern every value of the column matches. */
  patterns: ReadonlyMap<string, string>;
}

/**
 * Propose a contract from statistics, like TFDV's SchemaGen or Deequ's constraint suggestions: types
 * from the data, nullability from observed nulls, min/max widened by a margin, `allowed` lists for
 * low-cardinality text, `unique` for key-like columns (proved exactly, not guessed from the
 * approximate distinct count), a character-class pattern for other text, and generous row bounds. The
 * engineer edits it; the proposal always passes on the data it came from.
 */
export function inferContract(
  stats: DatasetStatistics,
  evidence: InferEvidence,
  options: InferOptions = {},
): ContractInput {
  const margin = options.margin ?? 0.1;
  const maxAllowed = options.maxAllowed ?? 20;
  const columns: Record<string, ColumnInput> = {};
  for (const column of stats.columns) {
    const proposal: ColumnInput = {
      type: column.family === 'other' ? column.type : column.family,
    };
    if (column.nulls === 0 && stats.rows > 0) proposal.nullable = false;
    else if (column.nulls > 0)
      proposal.maxNullFraction = Math.min(1, Math.ceil(column.nullFraction * 150) / 100);
    Object.assign(proposal, bounds(column, margin));
    if (column.family === 'float' && (column.nan ?? 0) + (column.posInf ?? 0) + (column.negInf ?? 0) === 0) {
      proposal.finite = true;
    }
    if (column.family === 'string') {
      const values = column.topK ?? [];
      const categorical =
        column.topKComplete === true &&
        values.length > 0 &&
        values.length <= maxAllowed &&
        values.length * 10 <= column.count;
      if (categorical)
        proposal.allowed = values.map((top) => top.value).sort((a, b) => String(a).localeCompare(String(b)));
      else if (evidence.patterns.has(column.name)) proposal.regex = evidence.patterns.get(column.name);
    }
    if (evidence.unique.has(column.name)) proposal.unique = true;
    columns[column.name] = proposal;
  }
  return {
    columns,
    rows: { min: Math.floor(stats.rows / 2), max: Math.max(1, stats.rows * 2) },
    unexpectedColumns: 'warn',
  };
}

/** min/max widened by `margin` of the range, rounded outward for integers, kept ≥ 0 for non-negative data. */
function bounds(column: ColumnStatistics, margin: number): Pick<ColumnInput, 'min' | 'max'> {
  const { min, max } = column;
  if (typeof min !== 'number' || typeof max !== 'number') return {};
  if (column.family !== 'integer' && column.family !== 'float' && column.family !== 'decimal') return {};
  const pad = (max - min) * margin || Math.abs(max) * margin;
  let lo = min - pad;
  let hi = max + pad;
  if (min >= 0) lo = Math.max(0, lo);
  if (column.family === 'integer') {
    lo = Math.floor(lo);
    hi = Math.ceil(hi);
  } else {
    lo = roundDown(lo);
    hi = roundUp(hi);
  }
  return { min: lo, max: hi };
}

function roundDown(value: number): number {
  return roundTo3(value, Math.floor);
}

function roundUp(value: number): number {
  return roundTo3(value, Math.ceil);
}

/** Round to three significant digits in the given direction, without binary-fraction noise (62.4, not 62.400000000000006). */
function roundTo3(raw: number, direction: (x: number) => number): number {
  const value = Number(raw.toPrecision(12)); // 0.5 − 0.4 is 0.09999999999999998: round that away first
  const exponent = Math.floor(Math.log10(Math.abs(value) || 1)) - 2;
  const rounded = direction(value / 10 ** exponent) * 10 ** exponent;
  return Number(rounded.toFixed(Math.max(0, -exponent)));
}

/** Character classes tried for text columns, most specific first. */
const patternClasses = ['[A-Z]', '[a-z]', '[0-9]', '[A-Za-z]', '[A-Za-z0-9]', '[A-Za-z0-9_.-]'];

/**
 * Gather {@link InferEvidence} with exact queries over the data (one scan): which key-like columns are
 * really unique, and the narrowest character-class pattern each text column satisfies.
 */
export async function gatherEvidence(
  db: DuckDBConnection,
  view: string,
  stats: DatasetStatistics,
): Promise<InferEvidence> {
  const parts: string[] = [];
  const uniqueCandidates = stats.columns.filter(
    (c) =>
      (c.family === 'integer' || c.family === 'string') &&
      c.nulls === 0 &&
      c.count > 1 &&
      c.distinct >= c.count * 0.95,
  );
  uniqueCandidates.forEach((c, i) =>
    parts.push(`count(DISTINCT ${sqlIdentifier(c.name)}) = count(*) AS u${i}`),
  );
  const textColumns = stats.columns.filter(
    (c) =>
      c.family === 'string' &&
      c.count > 0 &&
      typeof c.minLength === 'number' &&
      typeof c.maxLength === 'number',
  );
  const candidates = textColumns.map((c) => {
    const length = c.minLength === c.maxLength ? `{${c.minLength}}` : `{${c.minLength},${c.maxLength}}`;
    return patternClasses.map((cls) => `${cls}${length}`);
  });
  textColumns.forEach((c, i) =>
    (candidates[i] ?? []).forEach((pattern, j) =>
      parts.push(
        `count_if(NOT regexp_full_match(${sqlIdentifier(c.name)}::VARCHAR, ${sqlString(pattern)})) = 0 AS p${i}_${j}`,
      ),
    ),
  );
  if (parts.length === 0) return { unique: new Set(), patterns: new Map() };
  const row = await readOneRow(db, `SELECT ${parts.join(', ')} FROM ${view}`);
  const unique = new Set(uniqueCandidates.filter((_, i) => row[`u${i}`] === true).map((c) => c.name));
  const patterns = new Map<string, string>();
  textColumns.forEach((c, i) => {
    const found = (candidates[i] ?? []).find((_, j) => row[`p${i}_${j}`] === true);
    if (found) patterns.set(c.name, found);
  });
  return { unique, patterns };
}

/** Statistics, evidence and the proposed contract for one dataset file. */
export async function inferContractFromFile(
  path: string,
  name: string,
  options: InferOptions & { format?: DatasetFormat } = {},
): Promise<{ contract: ContractInput; statistics: DatasetStatistics }> {
  const { statistics } = await computeStatistics(path, {
    name,
    ...(options.format ? { format: options.format } : {}),
  });
  let evidence: InferEvidence;
  try {
    evidence = await withDatasetView(path, options.format, (db, view) =>
      gatherEvidence(db, view, statistics),
    );
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw unreadable(name, path, error);
  }
  return { contract: inferContract(statistics, evidence, options), statistics };
}
