import { copyFile } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { PiiPolicy } from '../../pipelines/privacy.js';
import { sqlString } from '../../lib/duckdb.js';
import type { SourceFormat } from './format.js';

/** What ingest was asked to do to a source, as far as storing it unchanged is concerned. */
export interface PassthroughPlan {
  format: SourceFormat;
  path: string;
  sql: string | undefined;
  types: Readonly<Record<string, string>>;
  pii: PiiPolicy;
}

/**
 * Whether the snapshot can be the source file itself: a Parquet source ingest changes nothing in (no
 * transform, no declared types, no pii column) whose every column chunk is already zstd. Re-encoding
 * it would write the same rows in the same order, types and codec — and cost as much CPU as computing
 * the dataset's statistics (docs/benchmarks.md, `npm run bench -- data`).
 */
export async function canStoreAsIs(db: DuckDBConnection, plan: PassthroughPlan): Promise<boolean> {
  if (plan.format !== 'parquet' || plan.sql !== undefined) return false;
  if (Object.keys(plan.types).length > 0 || Object.keys(plan.pii).length > 0) return false;
  const result = await db.runAndReadAll(
    `SELECT count(*) AS chunks, count(*) FILTER (WHERE upper(compression) = 'ZSTD') AS zstd
     FROM parquet_metadata(${sqlString(plan.path)})`,
  );
  const [chunks, zstd] = (result.getRowsJS()[0] ?? []).map(Number);
  return chunks !== undefined && chunks > 0 && chunks === zstd;
}

/**
 * Decode every value of every column once (a hash of each, which no Parquet statistic can answer), so a
 * corrupt page is refused here as re-encoding would have refused it; then copy the source into the
 * staging file and return its row count.
 */
export async function storeAsIs(db: DuckDBConnection, path: string, staged: string): Promise<number> {
  await db.runAndReadAll(`SELECT max(hash(COLUMNS(*))) FROM read_parquet(${sqlString(path)})`);
  await copyFile(path, staged);
  const result = await db.runAndReadAll(
    `SELECT sum(num_rows) FROM parquet_file_metadata(${sqlString(path)})`,
  );
  return Number(result.getRowsJS()[0]?.[0] ?? 0);
}
