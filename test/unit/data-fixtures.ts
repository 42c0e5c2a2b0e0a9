import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDuckDB, sqlString } from '../../lib/duckdb.js';

/**
 * Small real files for the data-plane unit tests: written to a fresh temp directory, as CSV text or as
 * Parquet produced by DuckDB itself (for exact types and for NaN/±Infinity, which CSV cannot carry
 * unambiguously).
 */
export async function fixtureDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sluice-data-'));
}

/** Write `text` to `dir/name` and return the path. */
export async function textFile(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

/** Write the result of `select` as Parquet to `dir/name` and return the path. */
export async function parquetFile(dir: string, name: string, select: string): Promise<string> {
  const path = join(dir, name);
  await withDuckDB(async (db) => {
    await db.run(`COPY (${select}) TO ${sqlString(path)} (FORMAT parquet)`);
  });
  return path;
}

/**
 * Five people, hand-checked in the tests: integer, float with a null, text with a null and a repeat,
 * boolean with a null, and dates two days apart.
 */
export const peopleCsv = `id,score,ratio,city,active,day
1,1,0.5,paris,true,2024-01-01
2,2,,paris,false,2024-01-03
3,3,1.4,rome,true,2024-01-05
4,4,2.6,,true,2024-01-07
5,10,4.5,oslo,,2024-01-09
`;

/** A small softmax model of the penguins' species: train params shared by the evaluation and card tests. */
export function penguinTrainParams(dataDir: string) {
  return {
    source: join(dataDir, 'penguins.json'),
    features: { numeric: ['Beak Length (mm)', 'Flipper Length (mm)'], categorical: ['Island'] },
    label: { column: 'Species', task: 'multiclass' },
    split: {
      kind: 'hash',
      key: `concat_ws('|', Species, Island, "Beak Length (mm)", "Body Mass (g)")`,
      test: 0.3,
    },
    trainer: { model: 'softmax', epochs: 30, learningRate: 0.05, batchSize: 16 },
  };
}
