import type * as tfType from '@tensorflow/tfjs';
import type { JsonObject } from '../../pipelines/json.js';
import type { TfjsModelFiles } from '../../lib/model/model-artifact.js';
import type { FittedLabel } from '../../pipelines/transform.js';
import { cloneDense, denseArrays, type DenseParams } from './dense-params.js';
import type { OutputKind } from './trainer.js';

type Tf = typeof tfType;

/** A TF.js `model.json` split the way the store keeps it: topology and specs as JSON, weights as bytes. */

/**
 * Regression networks learn a standardised target; fold the scale back into the last layer so the saved
 * model predicts in the label's own units and serving needs no extra step.
 */
export function unscaleRegression(params: DenseParams, label: FittedLabel): DenseParams {
  if (!label.scale) return params;
  const out = cloneDense(params);
  const last = out.kernels.length - 1;
  const kernel = out.kernels[last] as Float32Array;
  const bias = out.biases[last] as Float32Array;
  for (let i = 0; i < kernel.length; i++) kernel[i] = (kernel[i] as number) * label.scale.std;
  for (let i = 0; i < bias.length; i++) bias[i] = (bias[i] as number) * label.scale.std + label.scale.mean;
  return out;
}

/**
 * Build a standard TF.js LayersModel (Dense layers; dropout is training-only) holding `params`, and
 * serialise it as TF.js would write `model.json` + `weights.bin`: whichever engine trained the weights,
 * serving loads one format with `tf.loadLayersModel`.
 */
export async function toTfjsFiles(
  tf: Tf,
  params: DenseParams,
  output: OutputKind,
  activation: 'relu' | 'tanh',
): Promise<TfjsModelFiles> {
  const model = buildModel(tf, params.sizes, output, activation);
  try {
    const tensors = denseArrays(params).map((array, i) => {
      const l = Math.floor(i / 2);
      const shape =
        i % 2 === 0
          ? [params.sizes[l] as number, params.sizes[l + 1] as number]
          : [params.sizes[l + 1] as number];
      return tf.tensor(array, shape);
    });
    model.setWeights(tensors);
    tensors.forEach((t) => t.dispose());
    let files: TfjsModelFiles | undefined;
    await model.save(
      tf.io.withSaveHandler((artifacts) => {
        const data = artifacts.weightData;
        const buffer = Array.isArray(data)
          ? tf.io.concatenateArrayBuffers(data)
          : (data ?? new ArrayBuffer(0));
        files = {
          modelTopology: artifacts.modelTopology as JsonObject,
          weightSpecs: (artifacts.weightSpecs ?? []) as unknown as JsonObject[],
          weightData: new Uint8Array(buffer),
        };
        return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } });
      }),
    );
    if (!files) throw new Error('TF.js did not hand over the model files');
    return files;
  } finally {
    model.dispose();
  }
}

function buildModel(
  tf: Tf,
  sizes: number[],
  output: OutputKind,
  activation: 'relu' | 'tanh',
): tfType.Sequential {
  // Fixed names: TF.js numbers layers per process, which would make equal models hash differently.
  const model = tf.sequential({ name: 'sluice_model' });
  for (let l = 0; l + 1 < sizes.length; l++) {
    const last = l + 2 === sizes.length;
    model.add(
      tf.layers.dense({
        units: sizes[l + 1] as number,
        activation: last ? output : activation,
        kernelInitializer: 'zeros',
        name: `dense_${l + 1}`,
        ...(l === 0 ? { inputShape: [sizes[0] as number] } : {}),
      }),
    );
  }
  return model;
}
