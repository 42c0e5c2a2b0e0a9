import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { withDuckDB } from '../lib/duckdb.js';
import { prepareDataset, ROWS_VIEW } from '../activities/train/prepare.js';
import type { GbdtFeature } from '../activities/train/gbdt/binning.js';
import { fitGbdt, type GbdtData } from '../activities/train/gbdt/boost.js';
import { createPredictor } from '../lib/model/gbdt/forest.js';
import { gbdtParams } from '../activities/train/gbdt/train-gbdt.js';
import { binaryMetrics, sortByScore } from '../activities/evaluate/binary-metrics.js';
import { flightDelay } from '../pipelines/flight-delay.pipeline.js';
import { featuresSchema, gbdtTrainerSchema, labelSchema, splitSchema } from '../pipelines/train-spec.js';
import { dataDir, projectRoot } from '../test/support/paths.js';

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

/** The issue's anchor (LightGBM 4.7, 105k training rows, one thread), printed when Python is absent. */
const ANCHOR = { auc: 0.675, seconds: 0.46, note: 'as measured once (issue 14), not in this run' };
/** Rounds without a better validation loss before both learners stop. */
const PATIENCE = 20;

/** LightGBM on the same Parquet splits, or null when `.sluice/venv` (or python3) lacks it. */
function runLightgbm(dir: string): { auc: number; seconds: number; version: string } | null {
  const venv = join(projectRoot, '.sluice', 'venv', 'bin', 'python');
  const python = existsSync(venv) ? venv : 'python3';
  const script = join(projectRoot, 'bench', 'lightgbm-flights.py');
  const run = spawnSync(python, [script, dir, String(PATIENCE)], { encoding: 'utf8' });
  if (run.status !== 0) return null;
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as { auc: number; seconds: number; version: string };
}

/**
 * GBDT against LightGBM on the flight-delay task (the pipeline's sample, or `full`: every flight), same
 * rows, same early stopping. Returns the table rows and `ratios` (AUC difference, time ratio).
 */
export async function benchGbdtFlights(
  dir: string,
  full: boolean,
): Promise<{ rows: Record<string, string | number>[]; ratios: Record<string, number>; notes: string[] }> {
  const task = await loadFlightsTask(dir, full);
  const params = {
    ...gbdtParams(gbdtTrainerSchema.parse({ model: 'gbdt', earlyStopping: { patience: PATIENCE } }), {
      task: 'binary',
      sql: 'delay > 15',
      classes: ['0', '1'],
    }),
  };
  const started = performance.now();
  const fit = await fitGbdt(task.features, task.train, task.validation, params);
  const seconds = (performance.now() - started) / 1000;
  const p = createPredictor(fit.forest).predict(task.test.x, task.test.rows);
  const auc = binaryMetrics(task.test.y, p, sortByScore(p), 0.5).auc ?? NaN;
  const measured = runLightgbm(dir);
  const lightgbm = measured ?? (full ? null : ANCHOR);
  const label = full ? 'flights, all 3M' : 'flight-delay (1 in 20)';
  const rows: Record<string, string | number>[] = [
    {
      dataset: label,
      step: `train GBDT, ${fit.roundsRun} rounds (best ${fit.bestRound}), 31 leaves`,
      engine: 'gbdt',
      backend: '1 thread',
      rows: task.train.rows,
      'rows/s': Math.round((task.train.rows * fit.roundsRun) / seconds),
      'test AUC': auc.toFixed(4),
      'fit s': seconds.toFixed(2),
    },
  ];
  if (lightgbm) {
    rows.push({
      dataset: label,
      step: `LightGBM${'version' in lightgbm ? ` ${lightgbm.version}` : ''}, same rows, 1 thread${measured ? '' : ` (${ANCHOR.note})`}`,
      engine: 'lightgbm',
      backend: '1 thread',
      rows: task.train.rows,
      'rows/s': '-',
      'test AUC': lightgbm.auc.toFixed(4),
      'fit s': lightgbm.seconds.toFixed(2),
    });
  }
  const ratios: Record<string, number> = lightgbm
    ? {
        [full ? 'gbdtFullAucVsLightgbm' : 'gbdtAucVsLightgbm']: Number((auc - lightgbm.auc).toFixed(4)),
        [full ? 'gbdtFullTimeVsLightgbm' : 'gbdtTimeVsLightgbm']: Number(
          (seconds / lightgbm.seconds).toFixed(2),
        ),
      }
    : {};
  const notes = [
    measured
      ? `LightGBM ran in this bench run (${measured.version}, num_threads=1, defaults, native categoricals, early stopping ${PATIENCE}) on the Parquet files the GBDT read.`
      : full
        ? 'LightGBM is not importable (create .sluice/venv and pip install lightgbm scikit-learn pandas pyarrow): no comparison for all rows.'
        : `LightGBM is not importable here: its row is the issue's anchor, ${ANCHOR.note}.`,
  ];
  return { rows, ratios, notes };
}
