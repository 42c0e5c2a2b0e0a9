import type { ArtifactLocation } from '../../lib/artifacts/location.js';
import { Context } from '@temporalio/activity';
import type { ArtifactProducer, ArtifactRef } from '../../pipelines/artifact.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { JsonObject, JsonValue } from '../../pipelines/json.js';
import type { ModelRef } from '../../pipelines/model.js';
import type { StepInput } from '../../pipelines/step.js';
import { trainStepSchema } from '../../pipelines/step-params.js';
import { parseOrThrow } from '../../pipelines/train-spec.js';
import { createArtifactStore, type ArtifactStorage } from '../../lib/artifacts/index.js';
import { heartbeat } from '../boundary.js';
import { sha256File } from '../../lib/hash.js';
import { resolveSource } from '../../lib/paths.js';
import { refuseDeepJson } from '../ingest/json-depth.js';
import {
  loadCheckpoint,
  loadGbdtCheckpoint,
  saveCheckpoint,
  saveGbdtCheckpoint,
  type TrainingHeartbeat,
} from './checkpoint.js';
import { modelBody, saveModel } from '../../lib/model/model-artifact.js';
import type { TrainJob } from './train-core.js';
import { trainInThread } from './train-thread.js';

export { trainStepSchema } from '../../pipelines/step-params.js';

export interface TrainModelDeps {
  home: string;
  /** `SLUICE_ARTIFACTS`: where the artifact store is; absent: `<home>/artifacts`. */
  artifacts?: ArtifactLocation | undefined;
  dataRoots: readonly string[];
}

/** What `trainModel` returns through Temporal: refs and figures, never rows. */
export interface TrainModelOutput extends JsonObject {
  model: ModelRef;
  task: string;
  engine: string;
  backend: string;
  rows: { train: number; validation: number; test: number };
  metrics: { validationLoss: number; bestEpoch: number; epochsRun: number; stoppedEarly: boolean };
  /** The file the training data was read from (before ingest snapshotted it), when known. */
  source: string | null;
  /** Set when this attempt continued from an earlier attempt's checkpoint. */
  resumedFromEpoch: number | null;
  hyperparameters: JsonObject;
}

/**
 * The `trainModel` step (queue `train`): train one model with the given hyperparameters and store it.
 * Also the trial activity of a hyperparameter search: each trial is a `trainModel` call whose
 * `trainer` is one point of the search space.
 *
 * After every epoch the checkpoint goes to the artifact store and the heartbeat carries
 * `{ epoch, checkpoint, job }`; a retried attempt reads the last heartbeat and resumes from that epoch
 * (ending with the same weights as an uninterrupted run). Cancellation stops within one batch.
 */
export async function trainModelStep(deps: TrainModelDeps, input: StepInput): Promise<TrainModelOutput> {
  const params = parseOrThrow(trainStepSchema, input.params, `step "${input.step}" params`);
  const store = createArtifactStore(deps.home, deps.artifacts);
  const dataset = await resolveDataset(store, deps, input, params);
  const producer: ArtifactProducer = {
    workflowId: input.run.workflowId,
    runId: input.run.runId,
    step: input.step,
  };
  const context = Context.current();
  const previous = context.info.heartbeatDetails as TrainingHeartbeat | undefined;
  let last: TrainingHeartbeat | undefined = previous;
  const job: TrainJob = {
    dataset,
    where: stepWhere(input),
    features: params.features,
    label: params.label,
    split: params.split,
    trainer: params.trainer,
  };

  // On a worker thread (train-thread.ts): this thread stays free to heartbeat through long epochs.
  const outcome = await trainInThread(job, {
    signal: context.cancellationSignal,
    resume: async (jobId) => {
      if (previous?.job !== jobId) return undefined;
      const checkpoint = await loadCheckpoint(store, previous.checkpoint, jobId);
      if (checkpoint) context.log.info('resuming training from a checkpoint', { epoch: checkpoint.epoch });
      return checkpoint;
    },
    onEpoch: async (jobId, checkpoint) => {
      const ref = await saveCheckpoint(store, jobId, checkpoint, producer);
      last = { epoch: checkpoint.epoch, checkpoint: ref, job: jobId };
      heartbeat(last);
    },
    onBatch: () => heartbeat(last),
    resumeTrees: async (jobId) => {
      if (previous?.job !== jobId) return undefined;
      const checkpoint = await loadGbdtCheckpoint(store, previous.checkpoint, jobId);
      if (checkpoint) context.log.info('resuming boosting from a checkpoint', { round: checkpoint.round });
      return checkpoint;
    },
    onRounds: async (jobId, checkpoint) => {
      const ref = await saveGbdtCheckpoint(store, jobId, checkpoint, producer);
      last = { epoch: checkpoint.round, checkpoint: ref, job: jobId };
      heartbeat(last);
    },
  });
  for (const warning of outcome.warnings) context.log.warn(warning);
  context.log.info('model trained', {
    engine: outcome.metadata.engine,
    backend: outcome.metadata.backend.name,
    skipped: outcome.metadata.backend.skipped,
    epochs: outcome.result.epochsRun,
  });
  const model = await saveModel(
    store,
    modelBody(outcome),
    outcome.transform,
    outcome.metadata,
    producer,
    outcome.calibration,
  );
  return {
    model,
    task: outcome.metadata.task,
    engine: outcome.metadata.engine,
    backend: outcome.metadata.backend.name,
    rows: outcome.metadata.data.rows,
    ...(outcome.metadata.data.dropped === undefined ? {} : { dropped: { ...outcome.metadata.data.dropped } }),
    warnings: outcome.warnings,
    metrics: {
      validationLoss: outcome.metadata.metrics.validationLoss,
      bestEpoch: outcome.result.bestEpoch,
      epochsRun: outcome.result.epochsRun,
      stoppedEarly: outcome.result.stoppedEarly,
    },
    source: dataset.origin ?? null,
    resumedFromEpoch: outcome.result.resumedFrom ?? null,
    hyperparameters: outcome.metadata.hyperparameters as unknown as JsonObject,
  };
}

/** The dataset to train on: `params.source` (checked against the data roots) or an upstream `{ dataset }`. */
export async function resolveDataset(
  store: ArtifactStorage,
  deps: TrainModelDeps,
  input: StepInput,
  params: { source?: string | undefined; input?: string | undefined },
): Promise<TrainJob['dataset']> {
  if (params.source !== undefined) {
    const path = await resolveSource(params.source, deps.dataRoots);
    await refuseDeepJson(params.source, path);
    const { sha256, bytes } = await sha256File(path);
    return { path, uri: params.source, sha256, bytes, origin: params.source };
  }
  const candidates = Object.entries(input.inputs).filter(([name, value]) => {
    const ref = datasetRef(value);
    return ref !== undefined && (params.input === undefined || params.input === name);
  });
  const found = candidates[0];
  if (!found || (candidates.length > 1 && params.input === undefined)) {
    throw new InvalidInputError(
      `step "${input.step}" needs data: give params.source, or depend on one step that outputs { dataset }` +
        (candidates.length > 1
          ? ` (several do: ${candidates.map(([n]) => n).join(', ')}; pick one with params.input)`
          : ''),
    );
  }
  const ref = datasetRef(found[1]) as ArtifactRef;
  const path = await store.open(ref);
  return { path, uri: ref.uri, sha256: ref.sha256, bytes: ref.bytes, origin: sourcePath(found[1]) };
}

/** The file an ingest step read (its output's `source.path`), which a snapshot's hash path hides. */
function sourcePath(value: JsonValue | undefined): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const source = value['source'];
  if (typeof source !== 'object' || source === null || Array.isArray(source)) return undefined;
  return typeof source['path'] === 'string' ? source['path'] : undefined;
}

/** `step "train" of pipelines/x.pipeline.ts`: where a mistake in a step's params is to be fixed. */
export function stepWhere(input: Pick<StepInput, 'step' | 'run'>): string {
  return `step "${input.step}"${input.run.file === undefined ? '' : ` of ${input.run.file}`}`;
}

function datasetRef(value: JsonValue | undefined): ArtifactRef | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const dataset = value['dataset'];
  if (typeof dataset !== 'object' || dataset === null || Array.isArray(dataset)) return undefined;
  return typeof dataset['sha256'] === 'string' && typeof dataset['uri'] === 'string'
    ? (dataset as unknown as ArtifactRef)
    : undefined;
}
