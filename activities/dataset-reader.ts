import { extname } from 'node:path';
import { InvalidInputError } from '../pipelines/errors.js';
import { sqlString } from '../lib/duckdb.js';

/** Formats DuckDB can read without extensions that must be downloaded (docs/architecture.md decision 7). */
export type DatasetFormat = 'csv' | 'tsv' | 'parquet' | 'json' | 'ndjson';

const byExtension: Record<string, DatasetFormat> = {
  '.csv': 'csv',
  '.tsv': 'tsv',
  '.parquet': 'parquet',
  '.json': 'json',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
};

const readers: Record<DatasetFormat, (path: string) => string> = {
  csv: (path) => `read_csv_auto(${sqlString(path)})`,
  tsv: (path) => `read_csv_auto(${sqlString(path)}, delim='\t')`,
  parquet: (path) => `read_parquet(${sqlString(path)})`,
  json: (path) => `read_json_auto(${sqlString(path)})`,
  ndjson: (path) => `read_json_auto(${sqlString(path)}, format='newline_delimited')`,
};

/**
 * The format of a dataset file, from its extension. One mapping shared by every activity that reads
 * files with DuckDB, so `profile`, `stats`, `validate` and `drift` accept exactly the same files.
 *
 * @throws InvalidInputError naming the file and the extensions that work.
 */
export function datasetFormat(path: string): DatasetFormat {
  const format = byExtension[extname(path).toLowerCase()];
  if (!format) {
    throw new InvalidInputError(
      `${path} has an unknown format "${extname(path) || '(no extension)'}": use one of ${Object.keys(byExtension).join(', ')}`,
      { details: { path } },
    );
  }
  return format;
}

/** The DuckDB table function that reads `path` in `format` (default: from the extension). */
export function datasetReader(path: string, format: DatasetFormat = datasetFormat(path)): string {
  return readers[format](path);
}
