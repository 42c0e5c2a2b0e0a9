import type { ArtifactProducer, ArtifactRef } from '../../pipelines/artifact.js';
import type { JsonObject, JsonValue } from '../../pipelines/json.js';
import type { ArtifactStorage } from '../../lib/artifacts/index.js';
import type { DenseParams } from './dense-params.js';
import type { LoopCheckpoint } from './training-loop.js';
import type { GbdtCheckpoint } from './gbdt/boost.js';
import { forestFromJson, forestToJson, type ForestJson } from '../../lib/model/gbdt/forest-json.js';

/** What a training activity heartbeats: the last completed epoch and where its checkpoint is. */
export interface TrainingHeartbeat {
  epoch: number;
  checkpoint: ArtifactRef;
  /** Identity of the training job, so a checkpoint is never applied to different data or settings. */
  job: string;
}

/**
 * Store a checkpoint in the artifact store (docs/architecture.md decision 8) as JSON with the arrays in base64.
 * Content-addressed like everything else: the ref goes into the heartbeat, and a retried attempt reads
 * it back with its hash verified.
 */
export async function saveCheckpoint(
  store: ArtifactStorage,
  job: string,
  checkpoint: LoopCheckpoint,
  producer?: ArtifactProducer,
): Promise<ArtifactRef> {
  const json: JsonObject = {
    format: 'sluice-checkpoint/1',
    job,
    epoch: checkpoint.epoch,
    sinceBest: checkpoint.sinceBest,
    history: checkpoint.history as unknown as JsonValue[],
    best: {
      epoch: checkpoint.best.epoch,
      validationLoss: Number.isFinite(checkpoint.best.validationLoss) ? checkpoint.best.validationLoss : null,
      params: encodeParams(checkpoint.best.params),
    },
    state: {
      params: encodeParams(checkpoint.state.params),
      adam: {
        m: checkpoint.state.adam.m.map(encode),
        v: checkpoint.state.adam.v.map(encode),
        step: checkpoint.state.adam.step,
      },
    },
  };
  return store.putJson(json, { kind: 'checkpoint', ...(producer === undefined ? {} : { producer }) });
}

/** Read a checkpoint back, verified; undefined when it belongs to another job. */
export async function loadCheckpoint(
  store: ArtifactStorage,
  ref: ArtifactRef,
  job: string,
): Promise<LoopCheckpoint | undefined> {
  const json = (await store.readJson<JsonValue>(ref)) as unknown as StoredCheckpoint;
  if (json.format !== 'sluice-checkpoint/1' || json.job !== job) return undefined;
  return {
    epoch: json.epoch,
    sinceBest: json.sinceBest,
    history: json.history,
    best: {
      epoch: json.best.epoch,
      validationLoss: json.best.validationLoss ?? Infinity,
      params: decodeParams(json.best.params),
    },
    state: {
      params: decodeParams(json.state.params),
      adam: {
        m: json.state.adam.m.map(decode),
        v: json.state.adam.v.map(decode),
        step: json.state.adam.step,
      },
    },
  };
}

interface StoredParams {
  sizes: number[];
  kernels: string[];
  biases: string[];
}

interface StoredCheckpoint {
  format: string;
  job: string;
  epoch: number;
  sinceBest: number;
  history: LoopCheckpoint['history'];
  best: { epoch: number; validationLoss: number | null; params: StoredParams };
  state: { params: StoredParams; adam: { m: string[]; v: string[]; step: number } };
}

function encodeParams(params: DenseParams): JsonObject {
  return { sizes: params.sizes, kernels: params.kernels.map(encode), biases: params.biases.map(encode) };
}

function decodeParams(stored: StoredParams): DenseParams {
  return { sizes: stored.sizes, kernels: stored.kernels.map(decode), biases: stored.biases.map(decode) };
}

function encode(array: Float32Array): string {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
}

function decode(text: string): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

/**
 * A tree model's checkpoint: the trees so far (the forest, as the model stores it), the round and the
 * early-stopping state. Stored and heartbeated like a dense checkpoint (`epoch` is the round), so the
 * activity resumes trees the same way it resumes epochs.
 */
export async function saveGbdtCheckpoint(
  store: ArtifactStorage,
  job: string,
  checkpoint: GbdtCheckpoint,
  producer?: ArtifactProducer,
): Promise<ArtifactRef> {
  const json: JsonObject = {
    format: 'sluice-gbdt-checkpoint/1',
    job,
    round: checkpoint.round,
    sinceBest: checkpoint.sinceBest,
    best: {
      round: checkpoint.best.round,
      validationLoss: Number.isFinite(checkpoint.best.validationLoss) ? checkpoint.best.validationLoss : null,
    },
    history: checkpoint.history as unknown as JsonValue[],
    forest: forestToJson(checkpoint.forest),
  };
  return store.putJson(json, { kind: 'checkpoint', ...(producer === undefined ? {} : { producer }) });
}

/** Read a tree checkpoint back, verified; undefined when it is not one, or belongs to another job. */
export async function loadGbdtCheckpoint(
  store: ArtifactStorage,
  ref: ArtifactRef,
  job: string,
): Promise<GbdtCheckpoint | undefined> {
  const json = (await store.readJson<JsonValue>(ref)) as unknown as {
    format: string;
    job: string;
    round: number;
    sinceBest: number;
    best: { round: number; validationLoss: number | null };
    history: GbdtCheckpoint['history'];
    forest: ForestJson;
  };
  if (json.format !== 'sluice-gbdt-checkpoint/1' || json.job !== job) return undefined;
  return {
    round: json.round,
    sinceBest: json.sinceBest,
    best: { round: json.best.round, validationLoss: json.best.validationLoss ?? Infinity },
    history: json.history,
    forest: forestFromJson(json.forest),
  };
}
