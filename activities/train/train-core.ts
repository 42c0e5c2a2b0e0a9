import { InvalidInputError } from '../../pipelines/errors.js';
import type { ModelMetadata } from '../../pipelines/model.js';
import {
  modelTasks,
  type FeaturesSpec,
  type LabelSpec,
  type DenseTrainerSpec,
  type SplitSpec,
  type TrainerSpec,
} from '../../pipelines/train-spec.js';
import {
  outputUnits,
  transformOutputNames,
  type FittedLabel,
  type FittedTransform,
} from '../../pipelines/transform.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { sha256Text } from '../../lib/hash.js';
import { selectTfBackend } from '../tf-backend.js';
import { initDense } from './dense-params.js';
import { loadRelation, loadSplits, type Matrix } from './load-matrix.js';
import { prepareDataset, ROWS_VIEW } from './prepare.js';
import { deriveSeed, mulberry32, SEED_PURPOSE } from '../../pipelines/prng.js';
import { createTfjsDenseTrainer } from './tfjs-dense.js';
import type { TfjsModelFiles } from '../../lib/model/model-artifact.js';
import { toTfjsFiles, unscaleRegression } from './tfjs-export.js';
import type { EngineName, OutputKind, Trainer, TrainingData } from './trainer.js';
import { runTrainingLoop, type LoopCheckpoint, type LoopResult } from './training-loop.js';
import type { GbdtCheckpoint } from './gbdt/boost.js';
import type { Forest } from '../../lib/model/gbdt/forest.js';
import { columnMeans } from '../../lib/model/explain.js';
import { trainGbdt } from './gbdt/train-gbdt.js';
import { createTypedLinearTrainer } from './typed-linear.js';
import { createTypedMlpTrainer } from './typed-mlp.js';
import { calibrationIssue } from '../../pipelines/calibration.js';
import type { FittedCalibration } from '../../pipelines/model.js';
import { calibrateModel } from './calibrate.js';

/** One training job: which data, which features and label, which split, which trainer. */
export interface TrainJob {
  /** `origin`: the file the data came from (before ingest snapshotted it), for messages. */
  dataset: { path: string; uri: string; sha256: string; bytes: number; origin?: string | undefined };
  /** Which pipeline step (and file) asked, for messages: `step "train" of pipelines/x.pipeline.ts`. */
  where?: string | undefined;
  features: FeaturesSpec;
  label: LabelSpec;
  split: SplitSpec;
  trainer: TrainerSpec;
}

/** How the Temporal activity (or a bench, or a test) plugs into training. */
export interface TrainHooks {
  /** The checkpoint to resume from, if any, for this job id. */
  resume?: (job: string) => Promise<LoopCheckpoint | undefined>;
  onEpoch?: (job: string, checkpoint: LoopCheckpoint, stopping: boolean) => Promise<void>;
  onBatch?: () => void;
  signal?: AbortSignal;
  /** Tree models: the checkpoint to resume from, and where to put one every `checkpointEvery` rounds. */
  resumeTrees?: (job: string) => Promise<GbdtCheckpoint | undefined>;
  onRounds?: (job: string, checkpoint: GbdtCheckpoint, stopping: boolean) => Promise<void>;
}

/** How training went: for trees, epochs are boosting rounds. */
export type TrainSummary = Omit<LoopResult, 'params'>;

export interface TrainOutcome {
  job: string;
  transform: FittedTransform;
  /** Dense models: TF.js files. */
  files?: TfjsModelFiles;
  /** Tree models: the forest. */
  forest?: Forest;
  metadata: ModelMetadata;
  /** Binary models with calibration on: fitted on the validation split, stored in the manifest. */
  calibration?: FittedCalibration;
  result: TrainSummary;
  /** Things the data engineer should know (a categorical feature bucketed, …). */
  warnings: string[];
  timings: { loadMs: number; loadedRows: number; epochMs: number[] };
}

/**
 * Train one model end to end, without Temporal: prepare and split the data, fit the transform on the
 * training split, load train and validation through DuckDB into typed arrays, train with early stopping
 * (resuming if a checkpoint is offered), and produce TF.js files plus metadata. Deterministic: the same
 * data, settings and seed give the same weights, whichever attempt ran which epochs.
 */
export async function trainOnDataset(job: TrainJob, hooks: TrainHooks = {}): Promise<TrainOutcome> {
  const { trainer: spec } = job;
  if (!modelTasks[spec.model].includes(job.label.task)) {
    throw new InvalidInputError(
      `trainer "${spec.model}" cannot learn a ${job.label.task} label: use ${Object.entries(modelTasks)
        .filter(([, tasks]) => tasks.includes(job.label.task))
        .map(([model]) => model)
        .join(' or ')}`,
    );
  }
  const calibrationProblem = calibrationIssue(spec, job.label.task);
  if (calibrationProblem !== null) {
    throw new InvalidInputError(`${job.where ?? 'training'}: trainer.calibration: ${calibrationProblem}`);
  }
  const engine = spec.model === 'gbdt' ? 'gbdt' : resolveEngine(spec);
  const jobId = sha256Text(
    JSON.stringify({ data: job.dataset.sha256, f: job.features, l: job.label, s: job.split, t: spec }),
  );

  const loadStarted = performance.now();
  const loaded = await withDuckDB(async (db) => {
    const prepared = await prepareDataset(db, job.dataset.path, job, {
      where: job.where,
      origin: job.dataset.origin,
    });
    const rows = await loadRelation(db, ROWS_VIEW, job.dataset.path, job.split);
    const splits = await loadSplits(db, prepared.transform, rows, () => hooks.onBatch?.(), prepared.rows);
    return { prepared, ...splits };
  });
  const loadMs = performance.now() - loadStarted;
  const { prepared, validation, duckdb } = loaded;
  const { transform } = prepared;
  const output: OutputKind = { binary: 'sigmoid', multiclass: 'softmax', regression: 'linear' }[
    job.label.task
  ] as OutputKind;
  const perClass = classWeights(spec, transform.label, loaded.train);
  const validationData = targets(validation, transform.label, rowWeights(perClass, validation));
  // The training split is the largest thing a job holds (2.4M flights × 52 inputs: 500 MiB), so it is
  // held here and dropped as soon as the trainer is done with it; TF.js (~120 MiB with its backend) is
  // loaded only when DuckDB is closed and, for trees and the typed-array trainer, only after training,
  // so neither stacks on the matrix (docs/training.md, "Memory").
  const held: { train?: TrainingData } = {
    train: targets(loaded.train, transform.label, rowWeights(perClass, loaded.train)),
  };
  const width = loaded.train.width;
  const trainMeans =
    spec.model === 'mlp' || spec.model === 'gbdt'
      ? undefined
      : columnMeans(loaded.train.x, loaded.train.rows, width);
  delete (loaded as Partial<typeof loaded>).train;
  const loadTf = async () => {
    const backend = await selectTfBackend(); // memoised, as the import is: a second call costs nothing
    const tf = await import('@tensorflow/tfjs');
    return { tf, common: { job, jobId, backend, duckdb, prepared, transform, loadMs } };
  };
  if (spec.model === 'gbdt') {
    const resume = await hooks.resumeTrees?.(jobId);
    const fit = await trainGbdt(transform, spec, held.train as TrainingData, validationData, {
      ...(resume === undefined ? {} : { resume }),
      ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
      ...(hooks.onBatch === undefined ? {} : { onTree: hooks.onBatch }),
      onCheckpoint: async (checkpoint, stopping) => hooks.onRounds?.(jobId, checkpoint, stopping),
    });
    delete held.train;
    const { tf, common } = await loadTf();
    const result: TrainSummary = {
      bestEpoch: fit.bestRound,
      epochsRun: fit.roundsRun,
      stoppedEarly: fit.stoppedEarly,
      history: fit.history.map((h) => ({
        epoch: h.round,
        trainLoss: h.trainLoss,
        validationLoss: h.validationLoss,
        ms: 0,
      })),
      ...(fit.resumedFrom === undefined ? {} : { resumedFrom: fit.resumedFrom }),
    };
    const trees = {
      trees: fit.forest.root.length,
      leaves: fit.forest.leafValue.length,
      rounds: fit.bestRound,
    };
    const calibrated = await calibrateModel(tf, spec, job.label.task, transform, fit.forest, validation);
    return {
      ...outcomeOf(common, 'gbdt', result, trees),
      forest: fit.forest,
      ...(calibrated.calibration === undefined ? {} : { calibration: calibrated.calibration }),
      warnings: [...prepared.warnings, ...fit.warnings, ...calibrated.warnings],
    };
  }

  const hidden = spec.model === 'mlp' ? spec.layers : [];
  const sizes = [width, ...hidden, outputUnits(transform.label)];
  const initial = initDense(sizes, mulberry32(deriveSeed(spec.seed, SEED_PURPOSE.init)));
  const options = {
    output,
    learningRate: spec.learningRate,
    l2: spec.l2,
    dropout: spec.dropout,
    activation: spec.activation,
  };
  const trainer: Trainer =
    engine === 'tfjs'
      ? createTfjsDenseTrainer((await loadTf()).tf, initial, options)
      : spec.model === 'mlp'
        ? createTypedMlpTrainer(initial, { ...options, where: job.where })
        : createTypedLinearTrainer(initial, options);
  const epochMs: number[] = [];
  let result: LoopResult;
  try {
    const resume = await hooks.resume?.(jobId);
    result = await runTrainingLoop(trainer, held.train as TrainingData, validationData, {
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      seed: spec.seed,
      output,
      earlyStopping: spec.earlyStopping,
      ...(resume === undefined ? {} : { resume }),
      ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
      ...(hooks.onBatch === undefined ? {} : { onBatch: hooks.onBatch }),
      onEpoch: async (checkpoint, stopping) => {
        epochMs.push(checkpoint.history.at(-1)?.ms ?? 0);
        await hooks.onEpoch?.(jobId, checkpoint, stopping);
      },
    });
  } finally {
    trainer.dispose();
  }
  delete held.train;
  const { tf, common } = await loadTf();
  const files = await toTfjsFiles(
    tf,
    unscaleRegression(result.params, transform.label),
    output,
    spec.activation,
  );
  const outcome = outcomeOf(common, trainer.engine, result);
  // Linear models carry their training means: the reference their exact explanations start from.
  if (trainMeans !== undefined) outcome.metadata.inputMeans = trainMeans;
  const calibrated = await calibrateModel(tf, spec, job.label.task, transform, files, validation);
  return {
    ...outcome,
    files,
    ...(calibrated.calibration === undefined ? {} : { calibration: calibrated.calibration }),
    warnings: [...prepared.warnings, ...calibrated.warnings],
  };
}

interface OutcomeParts {
  job: TrainJob;
  jobId: string;
  backend: { name: string; skipped: string[]; tfjsVersion: string };
  duckdb: string;
  prepared: { rows: ModelMetadata['data']['rows']; dropped: NonNullable<ModelMetadata['data']['dropped']> };
  transform: FittedTransform;
  loadMs: number;
}

/** Metadata and timings, the same for every kind of model. */
function outcomeOf(
  parts: OutcomeParts,
  engine: ModelMetadata['engine'],
  result: TrainSummary,
  trees?: ModelMetadata['trees'],
): Omit<TrainOutcome, 'warnings'> {
  const { job, transform, backend, prepared } = parts;
  const spec = job.trainer;
  const best = result.history.find((h) => h.epoch === result.bestEpoch);
  const metadata: ModelMetadata = {
    task: job.label.task,
    model: spec.model,
    engine,
    backend: { name: backend.name, skipped: backend.skipped },
    features: {
      numeric: job.features.numeric.map((f) => f.name),
      categorical: job.features.categorical.map((f) => f.name),
    },
    inputs: transformOutputNames(transform),
    label: { sql: transform.label.sql, classes: transform.label.classes },
    data: {
      dataset: { uri: job.dataset.uri, sha256: job.dataset.sha256, bytes: job.dataset.bytes },
      split: job.split,
      rows: prepared.rows,
      dropped: prepared.dropped,
    },
    hyperparameters: spec,
    seed: spec.seed,
    libraries: { tfjs: backend.tfjsVersion, duckdb: parts.duckdb, node: process.version },
    training: {
      bestEpoch: result.bestEpoch,
      epochsRun: result.epochsRun,
      stoppedEarly: result.stoppedEarly,
      history: result.history.map(({ epoch, trainLoss, validationLoss }) => ({
        epoch,
        trainLoss,
        validationLoss,
      })),
    },
    metrics: { validationLoss: best?.validationLoss ?? NaN },
    ...(trees === undefined ? {} : { trees }),
  };
  return {
    job: parts.jobId,
    transform,
    metadata,
    result,
    timings: {
      loadMs: parts.loadMs,
      loadedRows: prepared.rows.train + prepared.rows.validation,
      epochMs: result.history.map((h) => h.ms),
    },
  };
}

/**
 * `auto`: the typed-array trainer for linear models (faster on every backend we ship), TF.js for MLPs;
 * `typed-array` on an MLP opts in to the typed-array MLP trainer (typed-mlp.ts).
 */
export function resolveEngine(spec: DenseTrainerSpec): EngineName {
  if (spec.engine !== 'auto') return spec.engine;
  return spec.model === 'mlp' ? 'tfjs' : 'typed-array';
}

/** Weight per class index, from the training split's class counts; undefined when every row weighs 1. */
export function classWeights(spec: TrainerSpec, label: FittedLabel, train: Matrix): number[] | undefined {
  if (spec.classWeight === 'none' || label.task === 'regression') return undefined;
  const counts = new Float64Array(label.classes.length);
  for (let i = 0; i < train.rows; i++)
    counts[train.y[i] as number] = (counts[train.y[i] as number] as number) + 1;
  let perClass: number[];
  if (spec.classWeight === 'balanced') {
    perClass = Array.from(counts, (n) => (n === 0 ? 0 : train.rows / (label.classes.length * n)));
  } else {
    const given = spec.classWeight;
    const unknown = Object.keys(given).filter((k) => !label.classes.includes(k));
    if (unknown.length > 0) {
      throw new InvalidInputError(
        `classWeight names ${unknown.map((k) => `"${k}"`).join(', ')}, which ${unknown.length > 1 ? 'are not classes' : 'is not a class'}: the classes are ${label.classes.join(', ')}`,
      );
    }
    perClass = label.classes.map((c) => given[c] ?? 1);
  }
  return perClass;
}

/** Per-row weights from per-class weights (training and validation alike). */
export function rowWeights(perClass: number[] | undefined, matrix: Matrix): Float32Array | undefined {
  if (!perClass) return undefined;
  const w = new Float32Array(matrix.rows);
  for (let i = 0; i < matrix.rows; i++) w[i] = perClass[matrix.y[i] as number] as number;
  return w;
}

/** Training targets: regression labels standardised with the training split's scale. */
function targets(matrix: Matrix, label: FittedLabel, w: Float32Array | undefined): TrainingData {
  let y = matrix.y;
  if (label.scale) {
    const { mean, std } = label.scale;
    y = matrix.y.map((v) => (v - mean) / std);
  }
  return { x: matrix.x, y, rows: matrix.rows, width: matrix.width, ...(w === undefined ? {} : { w }) };
}
