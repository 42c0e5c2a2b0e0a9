import { InvalidInputError } from '../../pipelines/errors.js';
import type { ModelManifest } from '../../pipelines/model.js';
import { outputUnits, type FittedTransform } from '../../pipelines/transform.js';
import type { ArtifactStorage } from '../artifacts/index.js';
import { forestFromJson, type ForestJson } from './gbdt/forest-json.js';
import { createPredictor, type Forest } from './gbdt/forest.js';
import { gbdtLayout, toTreeRows } from './gbdt/transform-layout.js';
import { createTreeShap, NoCoversError } from './gbdt/tree-shap.js';

/** Model types with an exact explainer: trees (TreeSHAP) and the single-layer linear models. */
export const explainableModels = ['gbdt', 'logistic', 'softmax', 'linear'] as const;

/**
 * What contributions add up to: the positive class's log-odds (binary), each class's logit before the
 * softmax (multi-class), or the predicted value in the label's units (regression).
 */
export type ExplanationSpace = 'log-odds' | 'logit' | 'value';

/**
 * Exact per-feature contributions for one model. Features are the model's input features as
 * declared (a numeric value and its missing indicator are one feature; a categorical feature's
 * one-hot or hashed columns are one feature). For every row and output,
 * `base[k] + Σ_f phi[(i·outputs + k)·features + f] = margin[i·outputs + k]`.
 */
export interface Explainer {
  method: 'tree-shap' | 'linear';
  space: ExplanationSpace;
  features: string[];
  /** Output names: the positive class (binary), every class (multi-class), or 'value'. */
  outputs: string[];
  /** The label's SQL, for saying what the space is about (`delay > 15`). */
  label: string;
  /** The base value per output: the average score over the training data. */
  base: Float64Array;
  /** Contributions and margins for `rows` transform rows (`rows × transform width`, as predict takes). */
  explain(x: Float32Array, rows: number): { phi: Float64Array; margin: Float64Array };
}

/** A model that has no exact explainer, or a version stored before it could have one. */
export class NoExplainerError extends InvalidInputError {}

/** The explainer of a stored model: reads the forest or the linear weights from the store. */
export async function loadExplainer(store: ArtifactStorage, manifest: ModelManifest): Promise<Explainer> {
  refuseUnexplainable(manifest);
  if (manifest.gbdt) {
    const forest = forestFromJson(await store.readJson<ForestJson>(manifest.gbdt.forest));
    return treeExplainer(manifest, forest);
  }
  if (!manifest.tfjs)
    throw new NoExplainerError(`this ${manifest.metadata.model} model has no weights to explain`);
  return linearExplainer(manifest, await store.readBytes(manifest.tfjs.weights));
}

/** Throws {@link NoExplainerError} for a model type no exact explainer covers. */
export function refuseUnexplainable(manifest: ModelManifest): void {
  const model = manifest.metadata.model;
  if (!(explainableModels as readonly string[]).includes(model)) {
    throw new NoExplainerError(
      `this is a ${model} model (a dense network with hidden layers), which has no exact explainer: explanations are available for ${explainableModels.join(', ')} models; train one of those to explain predictions`,
      { details: { model, explainable: [...explainableModels] } },
    );
  }
}

/** The input features in transform order, and each name's index. */
function featureNames(transform: FittedTransform): string[] {
  return [...transform.numeric.map((f) => f.name), ...transform.categorical.map((f) => f.name)];
}

function outputNames(manifest: ModelManifest): string[] {
  const { label } = manifest.transform;
  if (label.task === 'multiclass') return [...label.classes];
  if (label.task === 'binary') return [label.classes[1] ?? '1'];
  return ['value'];
}

function spaceOf(manifest: ModelManifest): ExplanationSpace {
  const task = manifest.transform.label.task;
  return task === 'binary' ? 'log-odds' : task === 'multiclass' ? 'logit' : 'value';
}

/** TreeSHAP over the forest, with a numeric feature's missing indicator grouped into the feature. */
export function treeExplainer(manifest: ModelManifest, forest: Forest): Explainer {
  const { transform } = manifest;
  const layout = gbdtLayout(transform);
  const names = featureNames(transform);
  // Tree features in gbdtLayout's order: each numeric value (then its indicator), then each categorical.
  const order: number[] = [];
  transform.numeric.forEach((f, i) => order.push(...(f.indicator ? [i, i] : [i])));
  transform.categorical.forEach((_, i) => order.push(transform.numeric.length + i));
  const players = Int32Array.from(order);
  let shap;
  try {
    shap = createTreeShap(forest, players, names.length);
  } catch (error) {
    if (error instanceof NoCoversError) throw new NoExplainerError(error.message, { cause: error });
    throw error;
  }
  const predictor = createPredictor(forest);
  return {
    method: 'tree-shap',
    space: spaceOf(manifest),
    features: names,
    outputs: outputNames(manifest),
    label: transform.label.sql,
    base: shap.expected,
    explain(x, rows) {
      const tree = toTreeRows(layout, x, rows);
      return { phi: shap.explain(tree, rows), margin: predictor.raw(tree, rows) };
    },
  };
}

/**
 * A single-layer model's exact contributions: `w_j · (x_j − mean_j)` per input column, summed over
 * the columns of each feature, where `mean_j` is the column's mean over the training split (stored
 * with the model). The base value is the margin at those means.
 */
export function linearExplainer(manifest: ModelManifest, weightBytes: Uint8Array): Explainer {
  const { transform, metadata } = manifest;
  const specs = (manifest.tfjs?.weightSpecs ?? []) as unknown as { shape: number[]; dtype?: string }[];
  const width = metadata.inputs.length;
  const K = outputUnits(transform.label);
  if (
    specs.length !== 2 ||
    specs[0]?.shape.join('x') !== `${width}x${K}` ||
    specs[1]?.shape.join('x') !== `${K}` ||
    specs.some((s) => (s.dtype ?? 'float32') !== 'float32')
  ) {
    throw new NoExplainerError(
      `this ${metadata.model} model's weights are not one ${width}×${K} layer, so it has no exact linear explainer`,
    );
  }
  const means = metadata.inputMeans;
  if (!means || means.length !== width) {
    throw new NoExplainerError(
      'no explanations for this model version: it was trained before input means were stored with linear models; retrain it to explain its predictions',
    );
  }
  const floats = new Float32Array(
    weightBytes.buffer.slice(weightBytes.byteOffset, weightBytes.byteOffset + (width + 1) * K * 4),
  );
  const kernel = floats.subarray(0, width * K);
  const bias = floats.subarray(width * K);
  const names = featureNames(transform);
  const column = columnPlayers(transform, names);
  const P = names.length;
  const base = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    let sum = bias[k]!;
    for (let j = 0; j < width; j++) sum += kernel[j * K + k]! * means[j]!;
    base[k] = sum;
  }
  return {
    method: 'linear',
    space: spaceOf(manifest),
    features: names,
    outputs: outputNames(manifest),
    label: transform.label.sql,
    base,
    explain(x, rows) {
      const phi = new Float64Array(rows * K * P);
      const margin = new Float64Array(rows * K);
      for (let i = 0; i < rows; i++) {
        for (let k = 0; k < K; k++) {
          const out = (i * K + k) * P;
          let m = bias[k]!;
          for (let j = 0; j < width; j++) {
            const w = kernel[j * K + k]!;
            const v = x[i * width + j]!;
            m += w * v;
            phi[out + column[j]!] = phi[out + column[j]!]! + w * (v - means[j]!);
          }
          margin[i * K + k] = m;
        }
      }
      return { phi, margin };
    },
  };
}

/** Which feature each transform column belongs to (a one-hot block, an indicator, …). */
function columnPlayers(transform: FittedTransform, names: string[]): Int32Array {
  const out: number[] = [];
  for (const f of transform.numeric) {
    out.push(names.indexOf(f.name));
    if (f.indicator) out.push(names.indexOf(f.name));
  }
  for (const f of transform.categorical) {
    const width = f.encoding === 'one-hot' ? f.vocabulary.length + 1 : f.buckets;
    for (let c = 0; c < width; c++) out.push(names.indexOf(f.name));
  }
  return Int32Array.from(out);
}

/** Each column's mean over `rows` rows (summed in doubles, in row order: deterministic). */
export function columnMeans(x: Float32Array, rows: number, width: number): number[] {
  const sums = new Float64Array(width);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < width; j++) sums[j] = sums[j]! + x[i * width + j]!;
  }
  return Array.from(sums, (s) => (rows > 0 ? s / rows : 0));
}
