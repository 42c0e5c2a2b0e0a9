import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withDuckDB } from '../lib/duckdb.js';
import { featuresSchema, labelSchema, splitSchema, trainerSchema } from '../pipelines/train-spec.js';
import { dataDir } from '../test/support/paths.js';
import { runChild, type BenchResult } from './harness.js';

/**
 * The flight-delay task of the `train` bench: delay > 15 min from distance, hour, weekday, origin and
 * destination, hash split. Plain JSON, so a child process can take it as an argument.
 */
export const flightsSpec = {
  features: featuresSchema.parse({
    numeric: ['distance', { name: 'hour', sql: 'hour(date)' }],
    categorical: [{ name: 'weekday', sql: 'dayofweek(date)' }, 'origin', 'destination'],
  }),
  label: labelSchema.parse({ sql: 'delay > 15', task: 'binary' }),
  split: splitSchema.parse({ kind: 'hash', key: 'date::VARCHAR || origin || destination', seed: 1 }),
};

export const flightsFile = join(dataDir, 'flights-3m.parquet');
export const FLIGHTS_TOTAL = 3_000_000;

/** `rows` flights from flights-3m.parquet, sampled by hash so the sample spans the whole half-year. */
export async function writeFlightsSample(path: string, rows: number): Promise<void> {
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * FROM read_parquet('${flightsFile}') ORDER BY md5(date::VARCHAR || origin || destination || delay::VARCHAR) LIMIT ${rows}) TO '${path}' (FORMAT parquet)`,
    ),
  );
}

/** What one child measures: `trainer` runs `trainOnDataset`; `load` and `duckdb` are its baselines. */
export const memoryModes = ['load', 'duckdb', 'logistic', 'mlp', 'gbdt'] as const;
export type MemoryMode = (typeof memoryModes)[number];

/** The job a memory child runs, passed as one JSON argument. */
export interface MemoryJob {
  mode: MemoryMode;
  path: string;
  bytes: number;
  spec: typeof flightsSpec;
  /** `trainerSchema` output for the trainer modes. */
  trainer?: unknown;
}

/** What a memory child prints: its peak RSS (KiB) and how long it took. */
export interface MemoryFigures {
  mode: MemoryMode;
  rows: number;
  maxRSS: number;
  wallMs: number;
  cpuMs: number;
}

/** One pass (or a few trees) per trainer: peak RSS is reached by loading and the first epoch. */
const trainers: Record<'logistic' | 'mlp' | 'gbdt', unknown> = {
  logistic: trainerSchema.parse({ model: 'logistic', epochs: 1, batchSize: 256, learningRate: 0.005 }),
  mlp: trainerSchema.parse({ model: 'mlp', layers: [64, 32], dropout: 0.1, epochs: 1, batchSize: 256 }),
  gbdt: trainerSchema.parse({ model: 'gbdt', rounds: 5 }),
};

const child = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
const GiB = 2 ** 30;

/**
 * Peak RSS per trainer (issue 16, item 7): one child process per trainer runs the real training call
 * (`trainOnDataset`: prepare, load, train, export) on `rows` flights, beside two baselines in their own
 * processes: `load` only prepares and loads the same dense matrices, `duckdb` only runs the DuckDB
 * queries (prepare + the transform query read to the end, nothing kept). Target: under 1 GiB.
 */
export async function benchPeakRss(
  home: string,
  rows: number,
): Promise<Pick<BenchResult, 'rows' | 'notes' | 'ratios'>> {
  let path = flightsFile;
  if (rows < FLIGHTS_TOTAL) {
    path = join(home, `flights-memory-${rows}.parquet`);
    await writeFlightsSample(path, rows);
  }
  const { size } = await stat(path);
  const measured: MemoryFigures[] = [];
  for (const mode of memoryModes) {
    const job: MemoryJob = {
      mode,
      path,
      bytes: size,
      spec: flightsSpec,
      ...(mode === 'load' || mode === 'duckdb' ? {} : { trainer: trainers[mode] }),
    };
    measured.push(await runChild<MemoryFigures>(child, [JSON.stringify(job)]));
  }
  const mib = (kib: number) => Math.round(kib / 1024);
  const baseline = measured.find((m) => m.mode === 'load')?.maxRSS ?? NaN;
  const ratios: Record<string, number> = {};
  for (const m of measured) ratios[`peakRss_${m.mode}_GiB`] = (m.maxRSS * 1024) / GiB;
  const over = measured.filter((m) => m.maxRSS * 1024 >= GiB).map((m) => m.mode);
  return {
    rows: measured.map((m) => ({
      dataset: 'flights',
      step: `peak RSS: ${describe[m.mode]}, ${rows.toLocaleString('en')} rows`,
      engine: m.mode,
      backend: '-',
      rows: m.rows,
      'peak RSS MiB': mib(m.maxRSS),
      'x dense load': m.maxRSS / baseline,
      'cpu s': m.cpuMs / 1000,
    })),
    ratios,
    notes: [
      `Peak RSS (maxRSS of each child process, Node + DuckDB + TF.js) on ${rows.toLocaleString('en')} flights: ` +
        `${measured.map((m) => `${m.mode} ${mib(m.maxRSS)} MiB`).join(', ')}; ` +
        (over.length === 0 ? 'all under 1 GiB.' : `over 1 GiB: ${over.join(', ')}.`),
    ],
  };
}

const describe: Record<MemoryMode, string> = {
  load: 'baseline, prepare + load the dense train/validation matrices only',
  duckdb: 'baseline, the DuckDB queries only (nothing kept)',
  logistic: 'train logistic regression (1 epoch)',
  mlp: 'train MLP 64-32 (1 epoch)',
  gbdt: 'train GBDT (5 rounds)',
};
