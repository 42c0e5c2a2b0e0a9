import type * as tfType from '@tensorflow/tfjs';
import type { ArtifactFormat } from '../../pipelines/artifact.js';
import type { ModelManifest, ModelRef } from '../../pipelines/model.js';
import type { ModelVersion } from '../../pipelines/registry.js';
import type { ArtifactStorage } from '../artifacts/index.js';
import { loadNetwork, loadScoringModel, networkScorer, type ScoringModel } from './model-artifact.js';
import { transformOutputNames } from '../../pipelines/transform.js';
import { transformRowInto, type FeatureInputs } from './transform-online.js';

type Tf = typeof tfType;

/** One row's answer: P(positive) (binary), class probabilities in `classes` order, or the value. */
export type Prediction = number | number[];

/**
 * One registered model version in memory, ready to score: the TF.js network or the tree forest, the fitted transform
 * saved with it (docs/architecture.md decision 9) and a count of the requests using it. The count is what makes a
 * hot swap safe: a retired version is disposed only once the requests that picked it have answered.
 */
export class LoadedModel {
  private inFlight = 0;
  private retired = false;
  private disposed = false;
  private scratch = new Float32Array(0);
  readonly inputWidth: number;
  readonly loadedAt = new Date().toISOString();

  constructor(
    readonly model: string,
    readonly version: number,
    readonly sha256: string,
    readonly manifest: ModelManifest,
    private readonly scoring: Pick<ScoringModel, 'predict' | 'dispose'>,
    /** Whether a scoring call has a fixed cost worth sharing between concurrent requests (a TF.js network). */
    readonly batched = false,
  ) {
    this.inputWidth = transformOutputNames(manifest.transform).length;
  }

  /** Mark a request as using this version; pair with {@link release}. */
  acquire(): void {
    this.inFlight++;
  }

  /** A request that used this version has answered; frees the network if the version was retired. */
  release(): void {
    this.inFlight--;
    if (this.retired && this.inFlight === 0) this.dispose();
  }

  /** Requests currently holding this version. */
  get active(): number {
    return this.inFlight;
  }

  /** No new requests will pick this version; free it as soon as the last in-flight one answers. */
  retire(): void {
    this.retired = true;
    if (this.inFlight === 0) this.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Transform and score rows already checked by `validateInstances`. */
  predict(rows: FeatureInputs[]): Prediction[] {
    if (this.disposed) throw new Error(`${this.model} v${this.version} was disposed while still in use`);
    const output = this.scoring.predict(this.scratchMatrix(rows), rows.length);
    const units = output.length / rows.length;
    const { label } = this.manifest.transform;
    return rows.map((_, i) => {
      if (label.task === 'multiclass') return Array.from(output.subarray(i * units, (i + 1) * units));
      // Stored models already predict in the label's units (the scale is folded in when saving).
      return output[i * units] ?? Number.NaN;
    });
  }

  /** The transform's matrix for rows (`rows × inputWidth`): what the model scores and explainers explain. */
  matrix(rows: FeatureInputs[]): Float32Array {
    const width = this.inputWidth;
    const x = new Float32Array(rows.length * width);
    rows.forEach((row, i) => transformRowInto(this.manifest.transform, row, x, i * width));
    return x;
  }

  /**
   * {@link matrix} into a buffer this version keeps between calls (every cell is written): a new
   * Float32Array of a row's ~100 bytes lives outside the heap and cost half a microsecond a request,
   * more in the collector. Only for scoring at once: the next call overwrites it.
   */
  private scratchMatrix(rows: FeatureInputs[]): Float32Array {
    const width = this.inputWidth;
    const cells = rows.length * width;
    if (this.scratch.length < cells) this.scratch = new Float32Array(Math.max(cells, 64 * width));
    const x = this.scratch.length === cells ? this.scratch : this.scratch.subarray(0, cells);
    rows.forEach((row, i) => transformRowInto(this.manifest.transform, row, x, i * width));
    return x;
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.scoring.dispose();
  }
}

/**
 * Load a registered version. The artifact store re-hashes the manifest and the weights against the
 * sha256 the registry recorded, so a model whose bytes were changed after registration is refused
 * (`ArtifactIntegrityError`) before TF.js ever sees it.
 */
export async function loadModelVersion(
  tf: Tf,
  store: ArtifactStorage,
  model: string,
  version: ModelVersion,
): Promise<LoadedModel> {
  const ref: ModelRef = {
    uri: version.model.uri,
    sha256: version.model.sha256,
    kind: 'model',
    format: version.model.format as ArtifactFormat,
    bytes: version.model.bytes,
  };
  let batched = false;
  const scoring = await loadScoringModel(store, ref, async (manifest) => {
    const network = await loadNetwork(tf, store, manifest);
    const width = transformOutputNames(manifest.transform).length;
    const { predict, perCall } = networkScorer(tf, network, width);
    batched = perCall;
    return { predict, dispose: () => network.dispose() };
  });
  return new LoadedModel(model, version.version, ref.sha256, scoring.manifest, scoring, batched);
}
