import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { withDuckDB } from '../lib/duckdb.js';
import { prepareDataset, ROWS_VIEW } from '../activities/train/prepare.js';
import type { GbdtFeature } from '../activities/train/gbdt/binning.js';
import type { GbdtData } from '../activities/train/gbdt/boost.js';
import { flightDelay } from '../pipelines/flight-delay.pipeline.js';
import { featuresSchema, labelSchema, splitSchema } from '../pipelines/train-spec.js';
import { dataDir } from '../test/support/paths.js';

/**
 * The flight-delay task as the demo pipeline defines it (its source sample, features, label and hash
 * split, read from `pipelines/flight-delay.pipeline.ts`), as GBDT inputs: hour, weekday and distance
 * numeric, origin and destination as integer codes (native categoricals, every airport kept). The same
 * rows go to a Parquet file per split for LightGBM to read, so both learners see identical data.
 */
export interface FlightsTask {
  features: GbdtFeature[];
  train: GbdtData;
  validation: GbdtData;
  test: GbdtData;
  /** Parquet files with columns hour, weekday, distance, origin, destination (codes), label. */
  files: { train: string; validation: string; test: string };
}

const FEATURES: GbdtFeature[] = [
  { name: 'hour', kind: 'numeric' },
  { name: 'weekday', kind: 'numeric' },
  { name: 'distance', kind: 'numeric' },
  { name: 'origin', kind: 'categorical' },
  { name: 'destination', kind: 'categorical' },
];

/** `full`: all 3M flights instead of the pipeline's 1-in-20 sample. */
export async function loadFlightsTask(dir: string, full = false): Promise<FlightsTask> {
  const train = flightDelay.steps.find((s) => s.id === 'train');
  const ingest = flightDelay.steps.find((s) => s.id === 'ingest');
  const params = train?.params as Record<string, unknown>;
  const sourceSql = ingest?.params['sql'];
  if (typeof sourceSql !== 'string') throw new Error('the flight-delay pipeline has no ingest sql');
  const where = full ? '' : sourceSql.slice(sourceSql.indexOf(' where '));
  const source = join(dir, full ? 'flights-full.parquet' : 'flights-sample.parquet');
  const spec = {
    features: featuresSchema.parse(params['features']),
    label: labelSchema.parse(params['label']),
    split: splitSchema.parse(params['split']),
  };
  return withDuckDB(async (db) => {
    await db.run(
      `COPY (SELECT date, delay, distance, origin, destination FROM read_parquet('${join(dataDir, 'flights-3m.parquet')}') source ${where}) TO '${source}' (FORMAT parquet)`,
    );
    await prepareDataset(db, source, spec);
    await db.run(`CREATE OR REPLACE TEMP TABLE gbdt_rows AS
      SELECT hour(date)::DOUBLE AS hour, dayofweek(date)::DOUBLE AS weekday, distance::DOUBLE AS distance,
        (dense_rank() OVER (ORDER BY origin) - 1)::DOUBLE AS origin,
        (dense_rank() OVER (ORDER BY destination) - 1)::DOUBLE AS destination,
        (delay > 15)::INTEGER::DOUBLE AS label, __split, row_number() OVER () AS __row
      FROM ${ROWS_VIEW} WHERE delay IS NOT NULL`);
    const files = {
      train: join(dir, 'gbdt-train.parquet'),
      validation: join(dir, 'gbdt-validation.parquet'),
      test: join(dir, 'gbdt-test.parquet'),
    };
    const out: Partial<Record<'train' | 'validation' | 'test', GbdtData>> = {};
    for (const split of ['train', 'validation', 'test'] as const) {
      await db.run(
        `COPY (SELECT hour, weekday, distance, origin, destination, label FROM gbdt_rows WHERE __split = '${split}' ORDER BY __row) TO '${files[split]}' (FORMAT parquet)`,
      );
      out[split] = await readSplit(db, files[split]);
    }
    return {
      features: FEATURES,
      train: out.train!,
      validation: out.validation!,
      test: out.test!,
      files,
    };
  });
}

async function readSplit(db: DuckDBConnection, file: string): Promise<GbdtData> {
  const reader = await db.runAndReadAll(`SELECT * FROM read_parquet('${file}')`);
  const columns = reader.getColumnsJS() as (number | null)[][];
  const rows = columns[0]?.length ?? 0;
  const width = FEATURES.length;
  const x = new Float32Array(rows * width);
  const y = new Float32Array(rows);
  for (let j = 0; j < width; j++) {
    const column = columns[j]!;
    for (let i = 0; i < rows; i++) x[i * width + j] = column[i] ?? NaN;
  }
  const labels = columns[width]!;
  for (let i = 0; i < rows; i++) y[i] = labels[i] ?? NaN;
  return { x, y, rows };
}
