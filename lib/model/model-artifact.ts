import type * as tfType from '@tensorflow/tfjs';
import type { ArtifactProducer } from '../../pipelines/artifact.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { JsonObject, JsonValue } from '../../pipelines/json.js';
import type { FittedCalibration, ModelManifest, ModelMetadata, ModelRef } from '../../pipelines/model.js';
import type { FittedTransform } from '../../pipelines/transform.js';
import type { ArtifactStorage } from '../artifacts/index.js';
import type { Forest } from './gbdt/forest.js';
import { forestFromJson, forestToJson, type ForestJson } from './gbdt/forest-json.js';
import { createPredictor } from './gbdt/forest.js';
import { applyCalibration } from './calibration.js';
import { DenseForward } from './dense-forward.js';
import { gbdtLayout, toTreeRows } from './gbdt/transform-layout.js';

/** What a trained model is made of: TF.js files (dense models) or a forest (trees). */
export type ModelBody = TfjsModelFiles | Forest;

/** The body of a training outcome, whichever kind of model it trained. */
export function modelBody(outcome: { files?: TfjsModelFiles; forest?: Forest }): ModelBody {
  const body = outcome.files ?? outcome.forest;
  if (!body) throw new Error('the training outcome holds no model');
  return body;
}

type Tf = typeof tfType;

/** A TF.js model's files as the artifact stores them. */
export interface TfjsModelFiles {
  modelTopology: JsonObject;
  weightSpecs: JsonObject[];
  weightData: Uint8Array;
}

/**
 * Store a trained model: `weights.bin` as one artifact, then the manifest (TF.js topology and weight
 * specs, the fitted transform, the metadata) as JSON whose ref is the {@link ModelRef}. Both are
 * content-addressed, so an identical model stored twice is one model.
 */
export async function saveModel(
  store: ArtifactStorage,
  body: ModelBody,
  transform: FittedTransform,
  metadata: ModelMetadata,
  producer?: ArtifactProducer,
  calibration?: FittedCalibration,
): Promise<ModelRef> {
  const by = producer === undefined ? {} : { producer };
  let manifest: ModelManifest;
  if ('root' in body) {
    const forest = await store.putJson(forestToJson(body), { kind: 'model', ...by });
    manifest = { format: 'sluice-model/1', gbdt: { forest }, transform, metadata };
  } else {
    const weights = await store.putBytes(body.weightData, { kind: 'model', format: 'tfjs', ...by });
    manifest = {
      format: 'sluice-model/1',
      tfjs: { modelTopology: body.modelTopology, weightSpecs: body.weightSpecs, weights },
      transform,
      metadata,
    };
  }
  if (calibration !== undefined) manifest = { ...manifest, calibration };
  const ref = await store.putJson(manifest as unknown as JsonValue, { kind: 'model', ...by });
  return { ...ref, kind: 'model' };
}

/** Read a model's manifest (verified) without loading TF.js: for cards, comparisons and audits. */
export async function readModelManifest(store: ArtifactStorage, ref: ModelRef): Promise<ModelManifest> {
  if (ref.kind !== 'model') {
    throw new InvalidInputError(
      `artifact ${ref.uri} is a ${ref.kind as string}, not a model: pass a model ref`,
    );
  }
  const manifest = await store.readJson<JsonValue>(ref);
  const typed = manifest as unknown as ModelManifest;
  if (typed.format !== 'sluice-model/1') {
    throw new InvalidInputError(
      `artifact ${ref.uri} is not a Sluice model manifest (format ${String(typed.format)})`,
    );
  }
  return typed;
}

/**
 * A stored model ready to score transform rows, whatever it is: `predict` takes the transform's
 * matrix (`rows × width`) and returns P(positive), class probabilities row-major, or the value.
 */
export interface ScoringModel {
  manifest: ModelManifest;
  /** Calibrated when the manifest carries a calibration (binary models), as evaluation and serving return. */
  predict(x: Float32Array, rows: number): Float32Array;
  /** The model's own scores, before calibration: what evaluation reports as "before calibration". */
  uncalibrated(x: Float32Array, rows: number): Float32Array;
  dispose(): void;
}

/**
 * Load any stored model for scoring (hashes verified): trees as a flat-array predictor with no TF.js,
 * dense models through TF.js (`predictDense` runs the network in batches).
 */
export async function loadScoringModel(
  store: ArtifactStorage,
  ref: ModelRef,
  dense: (manifest: ModelManifest) => Promise<Pick<ScoringModel, 'predict' | 'dispose'>>,
): Promise<ScoringModel> {
  const manifest = await readModelManifest(store, ref);
  if (manifest.gbdt) {
    const forest = forestFromJson(await store.readJson<ForestJson>(manifest.gbdt.forest));
    const predictor = createPredictor(forest);
    const layout = gbdtLayout(manifest.transform);
    const raw = (x: Float32Array, rows: number) => predictor.predict(toTreeRows(layout, x, rows), rows);
    return { manifest, ...withCalibration(manifest, raw), dispose: () => undefined };
  }
  const { predict, dispose } = await dense(manifest);
  return { manifest, ...withCalibration(manifest, predict), dispose };
}

/**
 * The model's scores and, when its manifest carries a calibration (binary models only), the calibrated
 * ones as `predict`. A manifest stored before calibration existed has none: it scores as it always did.
 */
function withCalibration(
  manifest: ModelManifest,
  raw: ScoringModel['predict'],
): Pick<ScoringModel, 'predict' | 'uncalibrated'> {
  const { calibration } = manifest;
  if (calibration === undefined || manifest.transform.label.task !== 'binary') {
    return { predict: raw, uncalibrated: raw };
  }
  return { predict: (x, rows) => applyCalibration(calibration, raw(x, rows)), uncalibrated: raw };
}

/** Load a stored dense model into TF.js, verifying the weights' hash on the way. */
export async function loadModel(
  tf: Tf,
  store: ArtifactStorage,
  ref: ModelRef,
): Promise<{ manifest: ModelManifest; model: tfType.LayersModel }> {
  const manifest = await readModelManifest(store, ref);
  return { manifest, model: await loadNetwork(tf, store, manifest) };
}

/** The TF.js network of a dense model's manifest. */
export async function loadNetwork(
  tf: Tf,
  store: ArtifactStorage,
  manifest: ModelManifest,
): Promise<tfType.LayersModel> {
  if (!manifest.tfjs) {
    throw new InvalidInputError(
      `this is a ${manifest.metadata.model} model, which has no TF.js network: load it with loadScoringModel`,
    );
  }
  const bytes = await store.readBytes(manifest.tfjs.weights);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: manifest.tfjs.modelTopology as tfType.io.ModelArtifacts['modelTopology'],
      weightSpecs: manifest.tfjs.weightSpecs as unknown as tfType.io.WeightsManifestEntry[],
      weightData,
    }),
  );
  return model;
}

/**
 * How a loaded network is scored, decided once: a network of Dense layers (every built-in trainer's) by
 * {@link DenseForward}, which reads its weights now (so a network still training must be asked again);
 * any other network by TF.js in batches of 4 096 rows. `perCall` says whether a call has a fixed cost
 * worth sharing between requests (TF.js's kernel dispatch: ~100 µs).
 */
export function networkScorer(
  tf: Tf,
  model: tfType.LayersModel,
  width: number,
): { predict: (x: Float32Array, rows: number) => Float32Array; perCall: boolean } {
  const forward = DenseForward.of(model, width);
  if (forward) return { predict: (x, rows) => forward.predict(x, rows), perCall: false };
  const units = (model.outputs[0]?.shape.at(-1) as number | undefined) ?? 1;
  const predict = (x: Float32Array, rows: number) => {
    const out = new Float32Array(rows * units);
    const batch = 4096;
    for (let start = 0; start < rows; start += batch) {
      const n = Math.min(batch, rows - start);
      const y = tf.tidy(
        () =>
          model.predict(
            tf.tensor2d(x.subarray(start * width, (start + n) * width), [n, width]),
          ) as tfType.Tensor,
      );
      out.set(y.dataSync(), start * units);
      y.dispose();
    }
    return out;
  };
  return { predict, perCall: true };
}

/** Probabilities (or predictions) from a loaded model, `rows × units`, scored as {@link networkScorer} says. */
export function predictBatched(
  tf: Tf,
  model: tfType.LayersModel,
  x: Float32Array,
  rows: number,
  width: number,
): Float32Array {
  return networkScorer(tf, model, width).predict(x, rows);
}
