import { extname } from 'node:path';
import { InvalidInputError } from '../pipelines/errors.js';
import type { JsonObject } from '../pipelines/json.js';
import { sqlString, withDuckDB } from './duckdb.js';
import { sha256File } from './hash.js';
import { resolveSource } from './paths.js';

export interface DatasetProfile extends JsonObject {
  source: string;
  path: string;
  sha256: string;
  bytes: number;
  rows: number;
  columns: { name: string; type: string }[];
}

const readers: Record<string, (path: string) => string> = {
  '.csv': (path) => `read_csv_auto(${sqlString(path)})`,
  '.tsv': (path) => `read_csv_auto(${sqlString(path)}, delim='\t')`,
  '.parquet': (path) => `read_parquet(${sqlString(path)})`,
  '.json': (path) => `read_json_auto(${sqlString(path)})`,
  '.ndjson': (path) => `read_json_auto(${sqlString(path)}, format='newline_delimited')`,
  '.jsonl': (path) => `read_json_auto(${sqlString(path)}, format='newline_delimited')`,
};

/**
 * Profile a dataset: its content hash, row count and schema, computed by DuckDB without pulling a row
 * into JavaScript. The first pipeline's first step; the data plane grows ingest out of it.
 */
export async function profileDataset(source: string, roots: readonly string[]): Promise<DatasetProfile> {
  const path = await resolveSource(source, roots);
  const reader = readers[extname(path).toLowerCase()];
  if (!reader) {
    throw new InvalidInputError(
      `source ${source} has an unknown format "${extname(path) || '(no extension)'}": use one of ${Object.keys(readers).join(', ')}`,
    );
  }
  const { sha256, bytes } = await sha256File(path);
  return withDuckDB(async (db) => {
    try {
      const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM ${reader(path)}`);
      const [names = [], types = []] = described.getColumnsJS();
      const columns = names.map((name, i) => ({
        name: String(name as string),
        type: String(types[i] as string),
      }));
      const counted = await db.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM ${reader(path)}`);
      const rows = Number(counted.getColumnsJS()[0]?.[0] ?? 0);
      return { source, path, sha256, bytes, rows, columns };
    } catch (error) {
      throw new InvalidInputError(
        `source ${source} cannot be read: ${(error as Error).message.split('\n')[0]}`,
        {
          cause: error,
          details: { source, path },
        },
      );
    }
  });
}
