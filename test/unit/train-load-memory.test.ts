import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { loadRelation, loadSplits } from '../../activities/train/load-matrix.js';
import { prepareDataset, ROWS_VIEW } from '../../activities/train/prepare.js';
import { featuresSchema, labelSchema, splitSchema } from '../../pipelines/train-spec.js';
import { dataDir } from '../support/paths.js';

const spec = {
  features: featuresSchema.parse({
    numeric: ['precipitation', 'temp_max', 'wind'],
    categorical: [{ name: 'month', sql: 'month(date)' }],
  }),
  label: labelSchema.parse({ column: 'weather', task: 'multiclass' }),
  split: splitSchema.parse({ kind: 'hash', key: 'date', seed: 3 }),
};

let dir: string;
let snapshot: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-load-memory-'));
  snapshot = join(dir, 'weather.parquet');
  const csv = join(dataDir, 'seattle-weather.csv');
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * FROM read_csv_auto(${sqlString(csv)})) TO ${sqlString(snapshot)} (FORMAT parquet)`,
    ),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('loading a Parquet snapshot without its temp table', () => {
  it('gives the same train and validation matrices as loading from the prepared table (and counting)', async () => {
    const load = (reread: boolean) =>
      withDuckDB(async (db) => {
        const { transform, rows: counted } = await prepareDataset(db, snapshot, spec);
        const rows = reread ? await loadRelation(db, ROWS_VIEW, snapshot, spec.split) : ROWS_VIEW;
        const tables = await db.runAndReadAll(
          `SELECT count(*) FROM duckdb_tables() WHERE table_name = '${ROWS_VIEW}'`,
        );
        return {
          ...(await loadSplits(db, transform, rows, () => undefined, reread ? counted : undefined)),
          tables: tables.getColumnsJS()[0]?.[0],
        };
      });
    const fromTable = await load(false);
    const fromFile = await load(true);
    expect(fromTable.tables).toBe(1n);
    expect(fromFile.tables).toBe(0n); // dropped before the matrices were filled
    expect(fromFile.train.rows).toBeGreaterThan(1000);
    expect(fromFile.train.rows).toBe(fromTable.train.rows);
    expect(fromFile.validation.rows).toBe(fromTable.validation.rows);
    expect(Buffer.from(fromFile.train.x.buffer).equals(Buffer.from(fromTable.train.x.buffer))).toBe(true);
    expect(Buffer.from(fromFile.train.y.buffer).equals(Buffer.from(fromTable.train.y.buffer))).toBe(true);
    expect(Buffer.from(fromFile.validation.x.buffer).equals(Buffer.from(fromTable.validation.x.buffer))).toBe(
      true,
    );
  });
});
