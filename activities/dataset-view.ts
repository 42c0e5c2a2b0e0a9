import type { DuckDBConnection } from '@duckdb/node-api';
import { datasetReader, type DatasetFormat } from './dataset-reader.js';
import { sqlString, withDuckDB } from '../lib/duckdb.js';

/** The view every contract check, statistic and custom SQL check reads. */
export const datasetView = 'dataset';

/**
 * Open DuckDB with the view `dataset` over one file, then shut every other door: external access is
 * switched off except for that file and the configuration is locked, so a contract's custom SQL can
 * read the dataset and nothing else (no `read_csv('/etc/passwd')`, no `COPY … TO`).
 */
export async function withDatasetView<T>(
  path: string,
  format: DatasetFormat | undefined,
  fn: (db: DuckDBConnection, view: string) => Promise<T>,
): Promise<T> {
  return withDuckDB(async (db) => {
    await db.run(`CREATE VIEW ${datasetView} AS SELECT * FROM ${datasetReader(path, format)}`);
    await db.run(`SET allowed_paths = [${sqlString(path)}]`);
    await db.run('SET enable_external_access = false');
    await db.run('SET lock_configuration = true');
    return fn(db, datasetView);
  });
}
