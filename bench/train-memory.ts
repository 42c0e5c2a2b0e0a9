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

/**
 * `copies` copies of flights-3m.parquet in one file, each copy's dates moved on by a year more than the
 * last, so every row keeps a distinct split key: a set `copies` times flights for the streamed epoch.
 */
export async function writeFlightsCopies(path: string, copies: number): Promise<void> {
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * EXCLUDE (copy) REPLACE (date + to_years(copy::INTEGER) AS date) FROM read_parquet('${flightsFile}'), range(${copies}) t(copy)) TO '${path}' (FORMAT parquet)`,
    ),
  );
}

/** What one child measures: `trainer` runs `trainOnDataset`; `load` and `duckdb` are its baselines. */
export const memoryModes = [
  'load',
  'duckdb',
  'logistic',
  'mlp',
  'gbdt',
  'logistic_streamed',
  'mlp_streamed',
] as const;
export type MemoryMode = (typeof memoryModes)[number];

/** The job a memory child runs, passed as one JSON argument. */
export interface MemoryJob {
  mode: MemoryMode;
  path: string;
  bytes: number;
  spec: typeof flightsSpec;
  /** `trainerSchema` output for the trainer modes. */
  trainer?: unknown;
  /** Trainer modes: a directory for an artifact store, to evaluate the model on the test split. */
  home?: string;
}

/** What a memory child prints: its peak RSS (KiB) and how long it took. */
export interface MemoryFigures {
  mode: MemoryMode;
  rows: number;
  maxRSS: number;
  wallMs: number;
  cpuMs: number;
  /** Trainer modes: training rows, the epoch's time (streamed: reading the chunks included), test AUC. */
  trainRows?: number;
  epochMs?: number;
  auc?: number;
  /** Streamed modes: chunks an epoch read. */
  chunks?: number;
}

const logistic = { model: 'logistic', epochs: 1, batchSize: 256, learningRate: 0.005 } as const;
const mlp = { model: 'mlp', layers: [64, 32], dropout: 0.1, epochs: 1, batchSize: 256 } as const;

/**
 * `trainer.memory` of the streamed rows: a quarter of the training split's dense matrix (3M flights:
 * 494 MiB, so '128MiB' and five chunks an epoch; 300k: '16MiB'), well over the validation split.
 */
function streamedBudget(rows: number): string {
  return rows >= 1_000_000 ? '128MiB' : '16MiB';
}

/** One pass (or a few trees) per trainer: peak RSS is reached by loading and the first epoch. */
function trainers(rows: number): Record<Exclude<MemoryMode, 'load' | 'duckdb'>, unknown> {
  const memory = streamedBudget(rows);
  return {
    logistic: trainerSchema.parse(logistic),
    mlp: trainerSchema.parse(mlp),
    gbdt: trainerSchema.parse({ model: 'gbdt', rounds: 5 }),
    logistic_streamed: trainerSchema.parse({ ...logistic, memory }),
    mlp_streamed: trainerSchema.parse({ ...mlp, memory }),
  };
}

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
  // A set several times flights (`--memory-scale N`): too large to train whole within the default
  // budget, so the trainers stream it with their defaults; only they and the DuckDB baseline run.
  const scaled = rows > FLIGHTS_TOTAL;
  if (scaled) {
    path = join(home, `flights-memory-${rows}.parquet`);
    await writeFlightsCopies(path, Math.round(rows / FLIGHTS_TOTAL));
  }
  const modes = scaled ? (['duckdb', 'logistic', 'mlp'] as const) : memoryModes;
  const tag = scaled ? `_${rows / 1e6}m` : '';
  const { size } = await stat(path);
  const measured: MemoryFigures[] = [];
  for (const mode of modes) {
    const job: MemoryJob = {
      mode,
      path,
      bytes: size,
      spec: flightsSpec,
      ...(mode === 'load' || mode === 'duckdb' ? {} : { trainer: trainers(rows)[mode], home }),
    };
    measured.push(await runChild<MemoryFigures>(child, [JSON.stringify(job)]));
  }
  const mib = (kib: number) => Math.round(kib / 1024);
  const baseline = measured.find((m) => m.mode === 'load')?.maxRSS ?? NaN;
  const ratios: Record<string, number> = {};
  for (const m of measured) {
    ratios[`peakRss_${m.mode}${tag}_GiB`] = (m.maxRSS * 1024) / GiB;
    if (m.epochMs !== undefined && m.trainRows !== undefined) {
      ratios[`trainRowsPerSec_${m.mode}${tag}`] = m.trainRows / (m.epochMs / 1000);
    }
    if (m.auc !== undefined) ratios[`testAuc_${m.mode}${tag}`] = m.auc;
  }
  for (const model of ['logistic', 'mlp'] as const) {
    const whole = ratios[`trainRowsPerSec_${model}`];
    const streamed = ratios[`trainRowsPerSec_${model}_streamed`];
    if (whole !== undefined && streamed !== undefined)
      ratios[`streamedVsInMemoryRowsPerSec_${model}`] = streamed / whole;
  }
  const over = measured.filter((m) => m.maxRSS * 1024 >= GiB).map((m) => m.mode);
  return {
    rows: measured.map((m) => ({
      dataset: 'flights',
      step:
        `peak RSS: ${describe[m.mode]}, ${rows.toLocaleString('en')} rows` +
        (m.chunks === undefined
          ? ''
          : ` (trainer.memory '${scaled ? '512MiB, the default' : streamedBudget(rows)}': ${m.chunks} chunks)`),
      engine: m.mode,
      backend: '-',
      rows: m.rows,
      'peak RSS MiB': mib(m.maxRSS),
      'x dense load': Number.isNaN(baseline) ? '-' : m.maxRSS / baseline,
      'cpu s': m.cpuMs / 1000,
      'train rows/s': m.epochMs === undefined ? '-' : Math.round((m.trainRows ?? 0) / (m.epochMs / 1000)),
      'test AUC': m.auc === undefined ? '-' : m.auc.toFixed(4),
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
  logistic_streamed: 'train logistic regression streamed in chunks (1 epoch)',
  mlp_streamed: 'train MLP 64-32 streamed in chunks (1 epoch)',
};
