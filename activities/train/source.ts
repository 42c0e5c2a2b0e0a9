import { extname } from 'node:path';
import { InvalidInputError } from '../../pipelines/errors.js';
import { sqlString } from '../../lib/duckdb.js';

const readers: Record<string, (path: string) => string> = {
  '.parquet': (path) => `read_parquet(${sqlString(path)})`,
  '.csv': (path) => `read_csv_auto(${sqlString(path)})`,
  '.json': (path) => `read_json_auto(${sqlString(path)})`,
  '.ndjson': (path) => `read_json_auto(${sqlString(path)}, format='newline_delimited')`,
  '.jsonl': (path) => `read_json_auto(${sqlString(path)}, format='newline_delimited')`,
};

/**
 * The DuckDB table function that reads a dataset file. Parquet is the exchange format between steps
 * (docs/architecture.md decision 2); CSV and JSON are accepted so a pipeline can train straight from a raw file.
 */
export function sourceRelation(path: string): string {
  const reader = readers[extname(path).toLowerCase()];
  if (!reader) {
    throw new InvalidInputError(
      `dataset ${path} has an unknown format "${extname(path) || '(no extension)'}": use one of ${Object.keys(readers).join(', ')}`,
    );
  }
  return reader(path);
}

/** Whether the loaders can re-read `path` cheaply (columnar, compressed) instead of keeping a copy. */
export function isParquet(path: string): boolean {
  return extname(path).toLowerCase() === '.parquet';
}

/** A SQL identifier, quoted: column names such as `Beak Length (mm)` are common in real data. */
export function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** A DOUBLE literal that DuckDB parses to exactly the same double as JavaScript holds. */
export function sqlDouble(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`cannot write ${value} as a SQL DOUBLE literal`);
  return `CAST('${String(value)}' AS DOUBLE)`;
}
