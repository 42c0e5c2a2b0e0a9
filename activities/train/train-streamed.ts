import type { DuckDBConnection } from '@duckdb/node-api';
import type { FittedTransform } from '../../pipelines/transform.js';
import { transformOutputNames } from '../../pipelines/transform.js';
import type { DenseTrainerSpec, SplitSpec } from '../../pipelines/train-spec.js';
import { rowWeights, targets } from './class-weights.js';
import { loadMatrix, loadRelation, type Matrix } from './load-matrix.js';
import type { MemoryPlan } from './memory-plan.js';
import { datasetName, ROWS_VIEW, type PreparedDataset } from './prepare.js';
import { openChunks } from './streamed-split.js';
import { runStreamedTrainingLoop, streamKey } from './streamed-loop.js';
import type { Trainer } from './trainer.js';
import type { LoopOptions, LoopResult } from './training-loop.js';
import { transformQuery } from './transform-sql.js';

export interface StreamedJob {
  dataset: { path: string; origin?: string | undefined };
  split: SplitSpec;
  spec: DenseTrainerSpec;
  prepared: PreparedDataset;
  plan: MemoryPlan & { mode: 'streamed' };
  /** Per-class weights from the training split's class counts (`classWeightsFromCounts`). */
  weights: (counts: Float64Array, rows: number) => number[] | undefined;
  /** Linear models: the training means their explanations start from. */
  means: boolean;
  /** Made once the validation split is loaded (TF.js, when it trains, loads here). */
  trainer: () => Promise<Trainer>;
  loop: Omit<LoopOptions, 'seed' | 'epochs' | 'batchSize'>;
  onRead: () => void;
}

export interface StreamedTraining {
  /** The validation split, in memory (the plan checked it fits the budget). */
  validation: Matrix;
  perClass: number[] | undefined;
  trainMeans: number[] | undefined;
  result: LoopResult;
  engine: Trainer['engine'];
}

/**
 * Dense training over a split too large for `trainer.memory` (docs/training.md, "Memory"), on the open
 * DuckDB connection that prepared it: the validation split is loaded whole, the class counts and (for
 * linear models) the input means are computed by SQL over the training split, and each epoch streams
 * the training split from the snapshot in chunks (`streamed-loop.ts`).
 */
export async function trainStreamed(db: DuckDBConnection, job: StreamedJob): Promise<StreamedTraining> {
  const { prepared, spec, plan } = job;
  // Reading a chunk of a large split takes seconds: cancellation is heard between its DuckDB chunks.
  const heard = () => {
    job.loop.signal?.throwIfAborted();
    job.onRead();
  };
  const { transform } = prepared;
  const path = job.dataset.path;
  // A Parquet snapshot's temp table is dropped and the file read again, as for loading whole.
  const relation = await loadRelation(db, ROWS_VIEW, path, job.split);
  const validation = await loadMatrix(db, transform, relation, {
    where: `__split = 'validation'`,
    rows: prepared.rows.validation,
    onChunk: heard,
  });
  const train = transformQuery(transform, relation, { where: `__split = 'train'` });
  // Class counts cost a pass over the snapshot: only class weights need them.
  const perClass =
    spec.classWeight === 'none'
      ? undefined
      : job.weights(await classCounts(db, train, transform), prepared.rows.train);
  const trainMeans = job.means ? await columnAverages(db, train, transform) : undefined;
  const source = await openChunks(db, {
    transform,
    view: ROWS_VIEW,
    split: job.split,
    path,
    name: datasetName(path, job.dataset.origin),
    rows: prepared.rows.train,
    chunks: plan.chunks,
    chunkRows: plan.chunkRows,
    keyOf: (epoch) => streamKey(spec.seed, epoch),
    perClass,
    onRead: heard,
  });
  const trainer = await job.trainer();
  try {
    const result = await runStreamedTrainingLoop(
      trainer,
      source,
      targets(validation, transform.label, rowWeights(perClass, validation)),
      {
        ...job.loop,
        seed: spec.seed,
        epochs: spec.epochs,
        batchSize: spec.batchSize,
      },
    );
    return { validation, perClass, trainMeans, result, engine: trainer.engine };
  } finally {
    trainer.dispose();
  }
}

/** Rows per class index of the training split (regression: unused, one bucket). */
async function classCounts(
  db: DuckDBConnection,
  train: string,
  transform: FittedTransform,
): Promise<Float64Array> {
  const counts = new Float64Array(Math.max(1, transform.label.classes.length));
  if (transform.label.task === 'regression') return counts;
  const read = await db.runAndReadAll(`SELECT __label::INTEGER, count(*)::DOUBLE FROM (${train}) GROUP BY 1`);
  const [labels = [], n = []] = read.getColumnsJS();
  labels.forEach((label, i) => {
    counts[label as number] = n[i] as number;
  });
  return counts;
}

/** Each input column's mean over the training split, as `columnMeans` gives it over the matrix. */
async function columnAverages(
  db: DuckDBConnection,
  train: string,
  transform: FittedTransform,
): Promise<number[]> {
  const width = transformOutputNames(transform).length;
  const sums = Array.from({ length: width }, (_, j) => `avg(f${j})::DOUBLE`).join(', ');
  const read = await db.runAndReadAll(`SELECT ${sums} FROM (${train})`);
  return read.getColumnsJS().map((column) => Number(column[0] ?? 0));
}
