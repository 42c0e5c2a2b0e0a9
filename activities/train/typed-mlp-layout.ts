import type { DenseParams } from './dense-params.js';

/**
 * Where each array of a dense network lives in one flat `Float32Array`: kernel 0, bias 0, kernel 1,
 * bias 1, … (the TF.js `setWeights` order, {@link denseArrays}). One flat array is what two threads
 * share (a `SharedArrayBuffer`), what Adam walks in one pass per array, and what a gradient buffer
 * mirrors entry for entry.
 */
export interface MlpLayout {
  sizes: readonly number[];
  /** Offset of kernel `l` (row-major `sizes[l] × sizes[l+1]`). */
  kernel: readonly number[];
  /** Offset of bias `l` (`sizes[l+1]` entries). */
  bias: readonly number[];
  /** Entries in all: the length of the parameter, moment and gradient arrays. */
  total: number;
  /** Hidden units before hidden layer `h` (0-based): where its dropout draws start, per batch row. */
  hiddenBefore: readonly number[];
}

export function mlpLayout(sizes: readonly number[]): MlpLayout {
  if (sizes.length < 2)
    throw new Error(`a dense network needs at least two sizes, got [${sizes.join(', ')}]`);
  const kernel: number[] = [];
  const bias: number[] = [];
  const hiddenBefore: number[] = [];
  let at = 0;
  let hidden = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l] as number;
    const fanOut = sizes[l + 1] as number;
    kernel.push(at);
    at += fanIn * fanOut;
    bias.push(at);
    at += fanOut;
    if (l + 2 < sizes.length) {
      hiddenBefore.push(hidden);
      hidden += fanOut;
    }
  }
  return { sizes: [...sizes], kernel, bias, total: at, hiddenBefore };
}

/** Copy per-array values (kernel, bias, kernel, bias…) into `flat`. */
export function flattenInto(layout: MlpLayout, arrays: readonly Float32Array[], flat: Float32Array): void {
  const layers = layout.sizes.length - 1;
  if (arrays.length !== 2 * layers) {
    throw new Error(
      `expected ${2 * layers} arrays for sizes [${layout.sizes.join(', ')}], got ${arrays.length}`,
    );
  }
  for (let l = 0; l < layers; l++) {
    const kernel = arrays[2 * l] as Float32Array;
    const bias = arrays[2 * l + 1] as Float32Array;
    const fanIn = layout.sizes[l] as number;
    const fanOut = layout.sizes[l + 1] as number;
    if (kernel.length !== fanIn * fanOut || bias.length !== fanOut) {
      throw new Error(
        `layer ${l} does not have the shape [${fanIn}, ${fanOut}] of sizes [${layout.sizes.join(', ')}]`,
      );
    }
    flat.set(kernel, layout.kernel[l]);
    flat.set(bias, layout.bias[l]);
  }
}

/** Copies of the arrays in `flat`, in `denseArrays` order. */
export function unflatten(layout: MlpLayout, flat: Float32Array): Float32Array[] {
  const out: Float32Array[] = [];
  for (let l = 0; l + 1 < layout.sizes.length; l++) {
    const k = layout.kernel[l] as number;
    const b = layout.bias[l] as number;
    out.push(flat.slice(k, b), flat.slice(b, b + (layout.sizes[l + 1] as number)));
  }
  return out;
}

/** The flat parameters as {@link DenseParams} (copies). */
export function toDenseParams(layout: MlpLayout, flat: Float32Array): DenseParams {
  const arrays = unflatten(layout, flat);
  return {
    sizes: [...layout.sizes],
    kernels: arrays.filter((_, i) => i % 2 === 0),
    biases: arrays.filter((_, i) => i % 2 === 1),
  };
}
