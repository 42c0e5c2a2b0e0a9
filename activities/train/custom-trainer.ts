import { Context } from '@temporalio/activity';
import { z } from 'zod';
import type { ArtifactProducer } from '../../pipelines/artifact.js';
import type { TrainerContext, TrainerDefinition } from '../../pipelines/define-trainer.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { JsonObject, JsonValue } from '../../pipelines/json.js';
import type { StepLog } from '../../pipelines/custom-step.js';
import type { ModelMetadata } from '../../pipelines/model.js';
import { deriveSeed, mulberry32 } from '../../pipelines/prng.js';
import type { StepActivity, StepInput } from '../../pipelines/step.js';
import type { LoadedStep } from '../../pipelines/step-modules.js';
import {
  denseTrainerSchema,
  featuresSchema,
  labelSchema,
  parseOrThrow,
  splitSchema,
  type DenseTrainerSpec,
} from '../../pipelines/train-spec.js';
import { calibrationIssue } from '../../pipelines/calibration.js';
import { outputUnits, transformOutputNames, type FittedTransform } from '../../pipelines/transform.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { columnMeans } from '../../lib/model/explain.js';
import { saveModel, type TfjsModelFiles } from '../../lib/model/model-artifact.js';
import { heartbeat, stepActivity } from '../boundary.js';
import { selectTfBackend } from '../tf-backend.js';
import { calibrateModel } from './calibrate.js';
import { checkTrainedModel, forwardDense, type CheckedModel } from './custom-model.js';
import { loadSplits, type Matrix } from './load-matrix.js';
import { prepareDataset, ROWS_VIEW } from './prepare.js';
import { toTfjsFiles } from './tfjs-export.js';
import { meanLoss, type OutputKind } from './trainer.js';
import { classWeights, rowWeights } from './train-core.js';
import { resolveDataset, stepWhere, type TrainModelDeps, type TrainModelOutput } from './train-model.js';

/** Seed purpose of the generator handed to a user's `fit` (apart from Sluice's own streams). */
const FIT_SEED_PURPOSE = 11;

/** What a lifecycle's `train` step passes a user's trainer: Sluice's part, and the trainer's own params. */
export const customTrainStepSchema = z.strictObject({
  source: z.string().min(1).optional(),
  input: z.string().min(1).optional(),
  features: featuresSchema,
  label: labelSchema,
  split: splitSchema,
  trainer: z.strictObject({
    name: z.string().min(1),
    seed: denseTrainerSchema.shape.seed,
    classWeight: denseTrainerSchema.shape.classWeight,
    calibration: denseTrainerSchema.shape.calibration,
  }),
  params: z.record(z.string(), z.unknown()).default({}),
});

/**
 * A user's trainer (`defineTrainer`) as the lifecycle's `train` step: Sluice prepares the data exactly
 * as for its own trainers (split, fitted transform, class weights, dropped rows counted), hands the
 * matrices to `fit`, checks the model it returns, then calibrates and stores it as an ordinary
 * sluice-model, so evaluation, the card, the registry and serving read it like any other.
 */
export function customTrainerActivity(
  loaded: LoadedStep & { definition: TrainerDefinition },
  deps: TrainModelDeps,
): StepActivity {
  return stepActivity((input) => {
    const context = Context.current();
    return trainWithCustomTrainer(loaded, deps, input, {
      attempt: context.info.attempt,
      heartbeat: (details) => heartbeat(details),
      log: context.log,
      signal: context.cancellationSignal,
    });
  });
}

/** What the activity (or a test) lends the fit: progress, the log, cancellation and the attempt. */
export interface CustomTrainerHooks {
  attempt: number;
  heartbeat: (details?: JsonValue) => void;
  log: StepLog;
  signal: AbortSignal;
}

/** The train step with a user's trainer, without Temporal: prepare, fit, check, calibrate, store. */
export async function trainWithCustomTrainer(
  loaded: LoadedStep & { definition: TrainerDefinition },
  deps: TrainModelDeps,
  input: StepInput,
  hooks: CustomTrainerHooks,
): Promise<TrainModelOutput> {
  const { definition, module } = loaded;
  const who = `trainer "${definition.name}" (from ${module})`;
  const where = stepWhere(input);
  const step = parseOrThrow(customTrainStepSchema, input.params, `${where} params`);
  const userParams = definition.params.safeParse(step.params);
  if (!userParams.success) {
    const [issue] = userParams.error.issues;
    const at = issue?.path.length ? `params.${issue.path.join('.')}` : 'params';
    throw new InvalidInputError(
      `${where} (${who}): ${at}: ${issue?.message ?? 'invalid'}; fix the params given to ${definition.name}.use(…)`,
      { details: { step: input.step, trainer: definition.name, issues: userParams.error.issues } },
    );
  }
  const calibrationProblem = calibrationIssue(step.trainer, step.label.task);
  if (calibrationProblem !== null) {
    throw new InvalidInputError(`${where}: trainer.calibration: ${calibrationProblem}`);
  }
  const store = createArtifactStore(deps.home, deps.artifacts);
  const dataset = await resolveDataset(store, deps, input, step);
  const { prepared, train, validation, duckdb } = await withDuckDB(async (db) => {
    const prepared = await prepareDataset(db, dataset.path, step, { where, origin: dataset.origin });
    return {
      prepared,
      ...(await loadSplits(db, prepared.transform, ROWS_VIEW, () => hooks.heartbeat({ loading: true }))),
    };
  });
  const { transform } = prepared;
  const task = transform.label.task;
  const outputs = outputUnits(transform.label);
  const weighting = { classWeight: step.trainer.classWeight } as DenseTrainerSpec;
  const perClass = classWeights(weighting, transform.label, train);
  const trainW = rowWeights(perClass, train);
  const validationW = rowWeights(perClass, validation);
  const ctx: TrainerContext<unknown> = {
    params: userParams.data,
    train: { x: train.x, y: train.y, rows: train.rows, ...(trainW ? { w: trainW } : {}) },
    validation: {
      x: validation.x,
      y: validation.y,
      rows: validation.rows,
      ...(validationW ? { w: validationW } : {}),
    },
    width: train.width,
    features: transformOutputNames(transform),
    label: { task, classes: [...transform.label.classes], sql: transform.label.sql },
    outputs,
    seed: step.trainer.seed,
    random: mulberry32(deriveSeed(step.trainer.seed, FIT_SEED_PURPOSE)),
    run: { ...input.run, step: input.step, attempt: hooks.attempt },
    heartbeat: hooks.heartbeat,
    log: hooks.log,
    signal: hooks.signal,
  };
  const returned = await definition.fit(ctx);
  const model = checkTrainedModel(returned, { width: train.width, outputs, task }, `${where}: ${who}`);

  const output: OutputKind = task === 'binary' ? 'sigmoid' : task === 'multiclass' ? 'softmax' : 'linear';
  const hyperparameters = equivalentSpec(model, task, step.trainer);
  const tf = await import('@tensorflow/tfjs');
  const backend = await selectTfBackend();
  const files: TfjsModelFiles = await toTfjsFiles(tf, model.params, output, model.activation);
  const calibrated = await calibrateModel(tf, hyperparameters, task, transform, files, validation);
  const losses = {
    trainLoss: loss(model, output, transform, train, trainW),
    validationLoss: loss(model, output, transform, validation, validationW),
  };
  const trainer = {
    name: definition.name,
    module,
    codeSha256: loaded.codeSha256,
    params: userParams.data as JsonObject,
  };
  const metadata: ModelMetadata = {
    task,
    model: hyperparameters.model,
    engine: 'custom',
    trainer,
    backend: { name: backend.name, skipped: backend.skipped },
    features: {
      numeric: step.features.numeric.map((f) => f.name),
      categorical: step.features.categorical.map((f) => f.name),
    },
    inputs: transformOutputNames(transform),
    label: { sql: transform.label.sql, classes: transform.label.classes },
    data: {
      dataset: { uri: dataset.uri, sha256: dataset.sha256, bytes: dataset.bytes },
      split: step.split,
      rows: prepared.rows,
      dropped: prepared.dropped,
    },
    hyperparameters,
    seed: step.trainer.seed,
    libraries: { tfjs: backend.tfjsVersion, duckdb, node: process.version },
    training: {
      bestEpoch: 1,
      epochsRun: 1,
      stoppedEarly: false,
      history: [{ epoch: 1, ...losses }],
    },
    metrics: { validationLoss: losses.validationLoss },
    // One layer: its training means are the reference exact explanations start from, as for built-ins.
    ...(model.params.kernels.length === 1
      ? { inputMeans: columnMeans(train.x, train.rows, train.width) }
      : {}),
  };
  const producer: ArtifactProducer = {
    workflowId: input.run.workflowId,
    runId: input.run.runId,
    step: input.step,
  };
  const stored = await saveModel(store, files, transform, metadata, producer, calibrated.calibration);
  const warnings = [...prepared.warnings, ...calibrated.warnings];
  for (const warning of warnings) hooks.log.warn(warning);
  hooks.log.info('model trained by a custom trainer', { trainer: definition.name, module });
  return {
    model: stored,
    task,
    engine: 'custom',
    backend: backend.name,
    trainer: { name: definition.name, module },
    rows: prepared.rows,
    dropped: { ...prepared.dropped },
    warnings,
    metrics: { validationLoss: losses.validationLoss, bestEpoch: 1, epochsRun: 1, stoppedEarly: false },
    source: dataset.origin ?? null,
    resumedFromEpoch: null,
    hyperparameters: {
      trainer: definition.name,
      ...(userParams.data as JsonObject),
      seed: step.trainer.seed,
      classWeight: step.trainer.classWeight,
      calibration: step.trainer.calibration,
    },
  };
}

/**
 * The built-in model this one scores like (one layer: logistic, softmax or linear by task; more: an
 * MLP), with the user's seed, class weights and calibration: what the card, explanations and
 * calibration read as `hyperparameters`. The user's own params are recorded in `metadata.trainer`.
 */
function equivalentSpec(
  model: CheckedModel,
  task: 'binary' | 'multiclass' | 'regression',
  settings: z.output<typeof customTrainStepSchema>['trainer'],
): DenseTrainerSpec {
  const { sizes } = model.params;
  const hidden = sizes.slice(1, -1);
  const linear = task === 'binary' ? 'logistic' : task === 'multiclass' ? 'softmax' : 'linear';
  return denseTrainerSchema.parse({
    model: hidden.length === 0 ? linear : 'mlp',
    seed: settings.seed,
    classWeight: settings.classWeight,
    calibration: settings.calibration,
    ...(hidden.length === 0 ? {} : { layers: hidden, activation: model.activation }),
  });
}

/** The returned model's mean loss on a split, as the built-in trainers measure it (regression standardised). */
function loss(
  model: CheckedModel,
  output: OutputKind,
  transform: FittedTransform,
  matrix: Matrix,
  w: Float32Array | undefined,
): number {
  if (matrix.rows === 0) return NaN;
  let z = forwardDense(model, matrix.x, matrix.rows);
  let y = matrix.y;
  const scale = transform.label.scale;
  if (scale) {
    z = z.map((v) => (v - scale.mean) / scale.std);
    y = y.map((v) => (v - scale.mean) / scale.std);
  }
  return meanLoss(output, z, y, matrix.rows, outputUnits(transform.label), w);
}
