import { denseArrays, type DenseParams } from './dense-params.js';
import {
  adamStep,
  type Trainer,
  type TrainerOptions,
  type TrainerState,
  type TrainingData,
} from './trainer.js';
import { createMlpKernel, type BatchRows, type CsrRows } from './typed-mlp-kernel.js';
import { flattenInto, mlpLayout, toDenseParams, unflatten, type MlpLayout } from './typed-mlp-layout.js';

/**
 * Each batch's rows are cut into this many fixed chunks; each chunk's gradient is summed on its own and
 * the chunks are added in chunk order, so the weights do not depend on which thread computed which
 * chunk (or on how many threads there were).
 */
export const MLP_CHUNKS = 4;

export interface TypedMlpOptions extends TrainerOptions {
  /** Which pipeline step trains, for messages (`step "train" of pipelines/x.pipeline.ts`). */
  where?: string | undefined;
}

/**
 * A dense network of any depth (an MLP; also a linear model) trained in plain typed arrays: the same
 * loss, Adam ({@link adamStep}), L2, initial weights and dropout draws as the TF.js trainer, without
 * tensors. A batch's gradient is the sum of {@link MLP_CHUNKS} chunk gradients (typed-mlp-kernel.ts)
 * added in a fixed order; weights, moments and the checkpoint state are the TF.js trainer's arrays,
 * so a checkpoint from either engine resumes in the other and the model is exported the same way.
 */
export function createTypedMlpTrainer(initial: DenseParams, options: TypedMlpOptions): Trainer {
  const layout = mlpLayout(initial.sizes);
  const kernel = createMlpKernel(layout, options);
  const params = new Float32Array(layout.total);
  const m = new Float32Array(layout.total);
  const v = new Float32Array(layout.total);
  const grads = new Float64Array(MLP_CHUNKS * layout.total);
  const losses = new Float64Array(MLP_CHUNKS);
  const sum = new Float64Array(layout.total);
  let t = 0;
  flattenInto(layout, denseArrays(initial), params);
  let prepared: { x: Float32Array; rows: number; csr: CsrRows } | undefined;
  let batchCsr: CsrRows = {
    offsets: new Int32Array(1),
    index: new Int32Array(0),
    value: new Float32Array(0),
  };
  let identity = new Int32Array(0);

  /** Every chunk of the batch, in chunk order, then Adam on their sum. */
  const update = (batch: BatchRows): number => {
    for (let c = 0; c < MLP_CHUNKS; c++) {
      const [from, to] = chunkRange(batch.size, c);
      losses[c] = kernel.gradient(
        params,
        grads.subarray(c * layout.total, (c + 1) * layout.total),
        batch,
        from,
        to,
      );
    }
    return applyGradients(layout, { params, m, v, grads, sum }, losses, ++t, batch.size, options);
  };

  return {
    engine: 'typed-array',
    step(x, y, w, size, dropoutSeed) {
      const width = layout.sizes[0] as number;
      batchCsr = csrOf(x, size, width, batchCsr);
      if (identity.length < size) identity = Int32Array.from({ length: size }, (_, i) => i);
      return update({ csr: batchCsr, y, w, rows: identity, start: 0, size, dropoutSeed });
    },
    stepRows(data: TrainingData, order, start, size, dropoutSeed) {
      if (prepared?.x !== data.x || prepared.rows !== data.rows) {
        prepared = { x: data.x, rows: data.rows, csr: csrOf(data.x, data.rows, data.width) };
      }
      return update({ csr: prepared.csr, y: data.y, w: data.w, rows: order.rows, start, size, dropoutSeed });
    },
    logits(x, rows) {
      return kernel.logits(params, x, rows);
    },
    state(): TrainerState {
      return {
        params: toDenseParams(layout, params),
        adam: { m: unflatten(layout, m), v: unflatten(layout, v), step: t },
      };
    },
    restore(state) {
      flattenInto(layout, denseArrays(state.params), params);
      flattenInto(layout, state.adam.m, m);
      flattenInto(layout, state.adam.v, v);
      t = state.adam.step;
    },
    dispose() {
      prepared = undefined;
    },
  };
}

/** Batch positions `[from, to)` of chunk `c`: fixed by the batch size alone. */
export function chunkRange(size: number, c: number): [number, number] {
  return [Math.floor((c * size) / MLP_CHUNKS), Math.floor(((c + 1) * size) / MLP_CHUNKS)];
}

export interface MlpArrays {
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** {@link MLP_CHUNKS} gradient sums, one after the other. */
  grads: Float64Array;
  sum: Float64Array;
}

/**
 * Add the chunks' gradients in chunk order and take one Adam step per array (L2 on kernels only, as
 * the TF.js trainer does). Returns the batch's summed loss, also added in chunk order.
 */
export function applyGradients(
  layout: MlpLayout,
  arrays: MlpArrays,
  losses: Float64Array,
  step: number,
  size: number,
  options: Pick<TrainerOptions, 'l2' | 'learningRate'>,
): number {
  const { params, m, v, grads, sum } = arrays;
  const n = layout.total;
  sum.set(grads.subarray(0, n));
  for (let c = 1; c < MLP_CHUNKS; c++) {
    const offset = c * n;
    for (let i = 0; i < n; i++) sum[i] = (sum[i] as number) + (grads[offset + i] as number);
  }
  for (let l = 0; l + 1 < layout.sizes.length; l++) {
    const k = layout.kernel[l] as number;
    const b = layout.bias[l] as number;
    const end = b + (layout.sizes[l + 1] as number);
    for (const [from, to, l2] of [
      [k, b, options.l2],
      [b, end, 0],
    ] as const) {
      adamStep(
        params.subarray(from, to),
        sum.subarray(from, to),
        m.subarray(from, to),
        v.subarray(from, to),
        size,
        l2,
        options.learningRate,
        step,
      );
    }
  }
  let loss = 0;
  for (let c = 0; c < MLP_CHUNKS; c++) loss += losses[c] as number;
  return loss;
}

/** The non-zeros of `rows` dense rows as CSR (into `reuse` when it is large enough). */
export function csrOf(x: Float32Array, rows: number, width: number, reuse?: CsrRows): CsrRows {
  const end = rows * width;
  let nnz = 0;
  for (let i = 0; i < end; i++) if (x[i] !== 0) nnz++;
  const csr: CsrRows =
    reuse && reuse.offsets.length >= rows + 1 && reuse.index.length >= nnz
      ? reuse
      : { offsets: new Int32Array(rows + 1), index: new Int32Array(nnz), value: new Float32Array(nnz) };
  let at = 0;
  for (let r = 0, base = 0; r < rows; r++, base += width) {
    csr.offsets[r] = at;
    for (let j = 0; j < width; j++) {
      const value = x[base + j] as number;
      if (value === 0) continue;
      csr.index[at] = j;
      csr.value[at] = value;
      at++;
    }
  }
  csr.offsets[rows] = at;
  return csr;
}
