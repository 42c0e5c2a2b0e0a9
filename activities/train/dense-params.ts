import type { Random } from '../../pipelines/prng.js';

/**
 * The weights of a dense network as plain typed arrays: what both trainers learn, what checkpoints
 * hold and what becomes the TF.js model. Layer `l` maps `sizes[l]` inputs to `sizes[l+1]` outputs;
 * `kernels[l]` is row-major `in × out` (the TF.js Dense layout), `biases[l]` has `out` entries.
 */
export interface DenseParams {
  sizes: number[];
  kernels: Float32Array[];
  biases: Float32Array[];
}

/** Glorot-uniform kernels and zero biases, drawn from `random` (seeded by the caller). */
export function initDense(sizes: readonly number[], random: Random): DenseParams {
  const kernels: Float32Array[] = [];
  const biases: Float32Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l] as number;
    const fanOut = sizes[l + 1] as number;
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const kernel = new Float32Array(fanIn * fanOut);
    for (let i = 0; i < kernel.length; i++) kernel[i] = (random() * 2 - 1) * limit;
    kernels.push(kernel);
    biases.push(new Float32Array(fanOut));
  }
  return { sizes: [...sizes], kernels, biases };
}

export function cloneDense(params: DenseParams): DenseParams {
  return {
    sizes: [...params.sizes],
    kernels: params.kernels.map((k) => k.slice()),
    biases: params.biases.map((b) => b.slice()),
  };
}

/** All arrays in layer order (kernel, bias, kernel, bias…): the TF.js `setWeights` order. */
export function denseArrays(params: DenseParams): Float32Array[] {
  return params.kernels.flatMap((kernel, l) => [kernel, params.biases[l] as Float32Array]);
}
