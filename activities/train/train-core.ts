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
import { outputUnits, transformOutputNames, type FittedTransform } from '../../pipelines/transform.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { sha256Text } from '../../lib/hash.js';
import { selectTfBackend } from '../tf-backend.js';
import { initDense } from './dense-params.js';
import type { DuckDBConnection } from '@duckdb/node-api';
import type * as tfType from '@tensorflow/tfjs';
import { loadRelation, loadSplits, type Matrix } from './load-matrix.js';
import { prepareDataset, ROWS_VIEW } from './prepare.js';
import { deriveSeed, mulberry32, SEED_PURPOSE } from '../../pipelines/prng.js';
import { createTfjsDenseTrainer } from './tfjs-dense.js';
import type { TfjsModelFiles } from '../../lib/model/model-artifact.js';
import { toTfjsFiles, unscaleRegression } from './tfjs-export.js';
import type { EngineName, OutputKind, Trainer, TrainingData } from './trainer.js';
import { runTrainingLoop, type LoopCheckpoint, type LoopOptions, type LoopResult } from './training-loop.js';
import { classWeights, classWeightsFromCounts, rowWeights, targets } from './class-weights.js';
import { planMemory } from './memory-plan.js';
import { trainStreamed } from './train-streamed.js';
import type { GbdtCheckpoint } from './gbdt/boost.js';
import type { Forest } from '../../lib/model/gbdt/forest.js';
import { columnMeans } from '../../lib/model/explain.js';
import { gbdtData, trainGbdt } from './gbdt/train-gbdt.js';
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

  const output: OutputKind = { binary: 'sigmoid', multiclass: 'softmax', regression: 'linear' }[
    job.label.task
  ] as OutputKind;
  const loadStarted = performance.now();
  let loadMs = 0;
  const loaded = await withDuckDB(async (db) => {
    const prepared = await prepareDataset(db, job.dataset.path, job, {
      where: job.where,
      origin: job.dataset.origin,
    });
    const width = transformOutputNames(prepared.transform).length;
    const plan = planMemory({ spec, rows: prepared.rows, width, where: job.where });
    if (plan.mode === 'streamed' && spec.model !== 'gbdt') {
      // Over `trainer.memory`: every epoch streams the split from the snapshot (docs/training.md,
      // "Memory"), so training runs here, with DuckDB open. The plan is part of the job's identity:
      // a checkpoint of one way of training never resumes the other.
      const id = sha256Text(`${jobId}:streamed:${plan.chunks}`);
      const streamed = await trainStreamed(db, {
        dataset: job.dataset,
        split: job.split,
        spec,
        prepared,
        plan,
        weights: (counts, rows) => classWeightsFromCounts(spec, prepared.transform.label, counts, rows),
        means: spec.model !== 'mlp',
        trainer: async () => {
          loadMs = performance.now() - loadStarted;
          return denseTrainer(spec, engine as EngineName, prepared.transform, output, job.where);
        },
        loop: loopOptions(spec, output, hooks, id, await hooks.resume?.(id)),
        onRead: () => hooks.onBatch?.(),
      });
      return { prepared, streamed: { ...streamed, plan }, duckdb: await duckdbVersion(db) };
    }
    const rows = await loadRelation(db, ROWS_VIEW, job.dataset.path, job.split);
    const splits = await loadSplits(db, prepared.transform, rows, () => hooks.onBatch?.(), prepared.rows);
    return { prepared, ...splits, streamed: undefined };
  });
  const { prepared, duckdb } = loaded;
  const { transform } = prepared;
  const loadTf = async () => {
    const backend = await selectTfBackend(); // memoised, as the import is: a second call costs nothing
    const tf = await import('@tensorflow/tfjs');
    return { tf, common: { job, jobId, backend, duckdb, prepared, transform, loadMs } };
  };
  if (loaded.streamed !== undefined) {
    const { result, validation, trainMeans, plan } = loaded.streamed;
    const { tf, common } = await loadTf();
    const outcome = await denseOutcome(tf, common, loaded.streamed.engine, result, {
      output,
      trainMeans,
      validation,
      warnings: prepared.warnings,
    });
    outcome.metadata.training.streamed = { chunks: plan.chunks, budgetBytes: plan.budget };
    return outcome;
  }
  loadMs = performance.now() - loadStarted;
  const { validation } = loaded;
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
  if (spec.model === 'gbdt') {
    const resume = await hooks.resumeTrees?.(jobId);
    const treeRows = gbdtData(transform, held.train as TrainingData);
    delete held.train;
    const fit = await trainGbdt(transform, spec, treeRows, gbdtData(transform, validationData), {
      ...(resume === undefined ? {} : { resume }),
      ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
      ...(hooks.onBatch === undefined ? {} : { onTree: hooks.onBatch }),
      onCheckpoint: async (checkpoint, stopping) => hooks.onRounds?.(jobId, checkpoint, stopping),
    });
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

  const trainer = await denseTrainer(spec, engine as EngineName, transform, output, job.where);
  let result: LoopResult;
  try {
    const resume = await hooks.resume?.(jobId);
    result = await runTrainingLoop(trainer, held.train as TrainingData, validationData, {
      ...loopOptions(spec, output, hooks, jobId, resume),
      epochs: spec.epochs,
      batchSize: spec.batchSize,
      seed: spec.seed,
    });
  } finally {
    trainer.dispose();
  }
  delete held.train;
  const { tf, common } = await loadTf();
  return denseOutcome(tf, common, trainer.engine, result, {
    output,
    trainMeans,
    validation,
    warnings: prepared.warnings,
  });
}

/** The loop's options from the spec and the hooks, for either loop (in memory or streamed). */
function loopOptions(
  spec: DenseTrainerSpec,
  output: OutputKind,
  hooks: TrainHooks,
  jobId: string,
  resume: LoopCheckpoint | undefined,
): Omit<LoopOptions, 'seed' | 'epochs' | 'batchSize'> {
  return {
    output,
    earlyStopping: spec.earlyStopping,
    ...(resume === undefined ? {} : { resume }),
    ...(hooks.signal === undefined ? {} : { signal: hooks.signal }),
    ...(hooks.onBatch === undefined ? {} : { onBatch: hooks.onBatch }),
    onEpoch: async (checkpoint, stopping) => hooks.onEpoch?.(jobId, checkpoint, stopping),
  };
}

/** The dense trainer the spec asks for, with its seeded initial weights. */
async function denseTrainer(
  spec: DenseTrainerSpec,
  engine: EngineName,
  transform: FittedTransform,
  output: OutputKind,
  where: string | undefined,
): Promise<Trainer> {
  const hidden = spec.model === 'mlp' ? spec.layers : [];
  const sizes = [transformOutputNames(transform).length, ...hidden, outputUnits(transform.label)];
  const initial = initDense(sizes, mulberry32(deriveSeed(spec.seed, SEED_PURPOSE.init)));
  const options = {
    output,
    learningRate: spec.learningRate,
    l2: spec.l2,
    dropout: spec.dropout,
    activation: spec.activation,
  };
  if (engine === 'tfjs') {
    await selectTfBackend();
    return createTfjsDenseTrainer(await import('@tensorflow/tfjs'), initial, options);
  }
  return spec.model === 'mlp'
    ? createTypedMlpTrainer(initial, { ...options, where })
    : createTypedLinearTrainer(initial, options);
}

/** A trained dense model's files, metadata and calibration. */
async function denseOutcome(
  tf: typeof tfType,
  common: OutcomeParts,
  engine: EngineName,
  result: LoopResult,
  parts: { output: OutputKind; trainMeans: number[] | undefined; validation: Matrix; warnings: string[] },
): Promise<TrainOutcome> {
  const { job, transform } = common;
  const spec = job.trainer as DenseTrainerSpec;
  const files = await toTfjsFiles(
    tf,
    unscaleRegression(result.params, transform.label),
    parts.output,
    spec.activation,
  );
  const outcome = outcomeOf(common, engine, result);
  // Linear models carry their training means: the reference their exact explanations start from.
  if (parts.trainMeans !== undefined) outcome.metadata.inputMeans = parts.trainMeans;
  const calibrated = await calibrateModel(tf, spec, job.label.task, transform, files, parts.validation);
  return {
    ...outcome,
    files,
    ...(calibrated.calibration === undefined ? {} : { calibration: calibrated.calibration }),
    warnings: [...parts.warnings, ...calibrated.warnings],
  };
}

async function duckdbVersion(db: DuckDBConnection): Promise<string> {
  const version = await db.runAndReadAll('SELECT version()');
  return version.getColumnsJS()[0]?.[0] as string;
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

export { classWeights, rowWeights } from './class-weights.js';
