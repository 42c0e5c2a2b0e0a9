import { InvalidInputError } from '../pipelines/errors.js';
import type { JsonObject } from '../pipelines/json.js';
import { datasetReader } from './dataset-reader.js';
import { withDuckDB } from '../lib/duckdb.js';
import { refuseDeepJson } from './ingest/json-depth.js';
import { sha256File } from '../lib/hash.js';
import { resolveSource } from '../lib/paths.js';

export interface DatasetProfile extends JsonObject {
  source: string;
  path: string;
  sha256: string;
  bytes: number;
  rows: number;
  columns: { name: string; type: string }[];
}

/**
 * Profile a dataset: its content hash, row count and schema, computed by DuckDB without pulling a row
 * into JavaScript. The first pipeline's first step; the data plane grows ingest out of it.
 */
export async function profileDataset(source: string, roots: readonly string[]): Promise<DatasetProfile> {
  const path = await resolveSource(source, roots);
  await refuseDeepJson(source, path);
  const read = datasetReader(path);
  const { sha256, bytes } = await sha256File(path);
  return withDuckDB(async (db) => {
    try {
      const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM ${read}`);
      const [names = [], types = []] = described.getColumnsJS();
      const columns = names.map((name, i) => ({
        name: String(name as string),
        type: String(types[i] as string),
      }));
      const counted = await db.runAndReadAll(`SELECT count(*)::DOUBLE AS n FROM ${read}`);
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
