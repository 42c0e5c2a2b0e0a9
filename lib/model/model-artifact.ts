import type * as tfType from '@tensorflow/tfjs';
import type { ArtifactProducer } from '../../pipelines/artifact.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { JsonObject, JsonValue } from '../../pipelines/json.js';
import type { ModelManifest, ModelMetadata, ModelRef } from '../../pipelines/model.js';
import type { FittedTransform } from '../../pipelines/transform.js';
import type { ArtifactStorage } from '../artifacts/index.js';

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
  files: TfjsModelFiles,
  transform: FittedTransform,
  metadata: ModelMetadata,
  producer?: ArtifactProducer,
): Promise<ModelRef> {
  const by = producer === undefined ? {} : { producer };
  const weights = await store.putBytes(files.weightData, { kind: 'model', format: 'tfjs', ...by });
  const manifest: ModelManifest = {
    format: 'sluice-model/1',
    tfjs: { modelTopology: files.modelTopology, weightSpecs: files.weightSpecs, weights },
    transform,
    metadata,
  };
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

/** Load a stored model into TF.js, verifying the weights' hash on the way. */
export async function loadModel(
  tf: Tf,
  store: ArtifactStorage,
  ref: ModelRef,
): Promise<{ manifest: ModelManifest; model: tfType.LayersModel }> {
  const manifest = await readModelManifest(store, ref);
  const bytes = await store.readBytes(manifest.tfjs.weights);
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: manifest.tfjs.modelTopology as tfType.io.ModelArtifacts['modelTopology'],
      weightSpecs: manifest.tfjs.weightSpecs as unknown as tfType.io.WeightsManifestEntry[],
      weightData,
    }),
  );
  return { manifest, model };
}
