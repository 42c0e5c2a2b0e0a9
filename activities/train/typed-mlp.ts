import { availableParallelism } from 'node:os';
import type { EpochOrder } from './epoch-order.js';
import type { Worker } from 'node:worker_threads';
import { denseArrays, type DenseParams } from './dense-params.js';
import { ADAM, type Trainer, type TrainerOptions, type TrainerState, type TrainingData } from './trainer.js';
import { gradientsOver, type BatchRows, type CsrRows } from './typed-mlp-kernel.js';
import { flattenInto, mlpLayout, toDenseParams, unflatten, type MlpLayout } from './typed-mlp-layout.js';
import { chunkRange, CTRL, MLP_CHUNKS, MlpHelper, type SharedData } from './typed-mlp-helper.js';
import { BatchSharing } from './typed-mlp-sharing.js';
import { csrOf, shuffledPositions, shuffledSplit, type ShuffledSplit } from './typed-mlp-rows.js';
import { chooseMlpKernel, createMlpKernelOf, type MlpKernelImpl } from './typed-mlp-simd.js';

/** Training rows from which a second thread pays for its start-up (about 50 ms). */
const HELPER_MIN_ROWS = 10_000;

export interface TypedMlpOptions extends TrainerOptions {
  /** Which pipeline step trains, for messages (`step "train" of pipelines/x.pipeline.ts`). */
  where?: string | undefined;
  /**
   * Threads computing each batch: 2 shares batches with a second worker thread (each batch it is
   * faster to share, as measured while training: typed-mlp-sharing.ts); default 2 when the machine
   * has two cores or more and the split has at least 10,000 rows, else 1. The weights are the same
   * either way.
   */
  threads?: 1 | 2;
  /**
   * What computes each chunk's gradient: `'wasm-simd'` (typed-mlp-simd.ts; the default where this
   * runtime has WebAssembly SIMD and the network fits its memory) or `'js'` (typed-mlp-kernel.ts, the
   * fallback). Both threads use the same one.
   */
  kernel?: MlpKernelImpl;
}

/**
 * A dense network of any depth (an MLP; also a linear model) trained in plain typed arrays: the same
 * loss, Adam ({@link adamStep}), L2, initial weights and dropout draws as the TF.js trainer, without
 * tensors. A batch's gradient is the sum of {@link MLP_CHUNKS} chunk gradients (typed-mlp-kernel.ts)
 * added in a fixed order, so the weights do not depend on which thread computed which chunk, or on how
 * many threads there were; with two threads (typed-mlp-helper.ts) the chunks are shared with a second
 * worker thread through shared memory. Weights, moments and the checkpoint state are the TF.js
 * trainer's arrays, so a checkpoint from either engine resumes in the other and the model is exported
 * the same way.
 */
export function createTypedMlpTrainer(initial: DenseParams, options: TypedMlpOptions): Trainer {
  const layout = mlpLayout(initial.sizes);
  const impl = chooseMlpKernel(layout, options.kernel).impl;
  const kernel = createMlpKernelOf(impl, layout, options);
  const n = layout.total;
  // Shared memory, so that a second thread reads the weights and writes its chunks' gradients in place.
  const shared = {
    params: new SharedArrayBuffer(4 * n),
    grads: new SharedArrayBuffer(kernel.gradType.BYTES_PER_ELEMENT * MLP_CHUNKS * n),
    losses: new SharedArrayBuffer(8 * MLP_CHUNKS),
  };
  const params = new Float32Array(shared.params);
  const grads = gradientsOver(kernel, shared.grads);
  const losses = new Float64Array(shared.losses);
  const m = new Float32Array(n);
  const v = new Float32Array(n);
  let t = 0;
  flattenInto(layout, denseArrays(initial), params);
  let prepared:
    | {
        x: Float32Array;
        rows: number;
        base: Uint32Array;
        split: ShuffledSplit;
        positions: Uint32Array;
        order?: EpochOrder;
        shared?: SharedData;
      }
    | undefined;
  let helper: MlpHelper | undefined;
  let batchCsr: CsrRows = {
    offsets: new Int32Array(1),
    index: new Int32Array(0),
    value: new Float32Array(0),
  };
  let identity = new Int32Array(0);
  const where = options.where ?? 'training';

  const chunk = (batch: BatchRows, c: number) => {
    const [from, to] = chunkRange(batch.size, c);
    losses[c] = kernel.gradient(params, grads.subarray(c * n, (c + 1) * n), batch, from, to);
  };
  const sharing = new BatchSharing();
  /** Every chunk of the batch (on this thread, or shared with the helper), then Adam on their sum. */
  const update = (batch: BatchRows): number => {
    if (helper && batch.csr === prepared?.shared) {
      const together = sharing.next();
      const started = performance.now();
      if (together) {
        helper.run(
          { size: batch.size, seed: batch.dropoutSeed, start: batch.start },
          (c) => chunk(batch, c),
          t + 1,
        );
      } else {
        helper.check(t + 1);
        for (let c = 0; c < MLP_CHUNKS; c++) chunk(batch, c);
      }
      sharing.record(together, performance.now() - started, batch.size);
    } else {
      for (let c = 0; c < MLP_CHUNKS; c++) chunk(batch, c);
    }
    return applyGradients(layout, { params, m, v, grads }, losses, ++t, batch.size, options);
  };
  const wantsHelper = (rows: number) =>
    options.threads === 2 ||
    (options.threads === undefined && availableParallelism() >= 2 && rows >= HELPER_MIN_ROWS);

  const trainer: Trainer = {
    engine: 'typed-array',
    step(x, y, w, size, dropoutSeed) {
      const width = layout.sizes[0] as number;
      batchCsr = csrOf(x, size, width, batchCsr);
      if (identity.length < size) identity = Int32Array.from({ length: size }, (_, i) => i);
      return update({ csr: batchCsr, y, w, rows: identity, start: 0, size, dropoutSeed });
    },
    stepRows(data: TrainingData, epochOrder, start, size, dropoutSeed) {
      if (prepared?.x !== data.x || prepared.rows !== data.rows || prepared.base !== epochOrder.base) {
        // The split in the run's row shuffle, once a run (typed-mlp-rows.ts).
        const split = shuffledSplit(data, epochOrder.base);
        const share = wantsHelper(data.rows);
        const positions = share
          ? new Uint32Array(new SharedArrayBuffer(4 * data.rows))
          : new Uint32Array(data.rows);
        prepared = { x: data.x, rows: data.rows, base: epochOrder.base, split, positions };
        if (share) {
          helper ??= new MlpHelper(
            {
              sizes: [...layout.sizes],
              kernel: { output: options.output, activation: options.activation, dropout: options.dropout },
              impl,
              ...shared,
              ctrl: newCtrl(),
            },
            where,
          );
          prepared.shared = helper.share({
            offsets: toShared(split.csr.offsets as Int32Array),
            index: toShared(split.csr.index),
            value: toShared(split.csr.value),
            y: toShared(split.y),
            w: split.w && toShared(split.w),
            rows: positions,
          });
        }
      }
      // The epoch's rows, as positions in the shuffled split (where the helper reads them too).
      if (prepared.order !== epochOrder) shuffledPositions(epochOrder, prepared.positions);
      prepared.order = epochOrder;
      const { shared: sharedData, split } = prepared;
      return update({
        csr: sharedData ?? split.csr,
        y: sharedData?.y ?? split.y,
        w: sharedData ? sharedData.w : split.w,
        rows: prepared.positions,
        start,
        size,
        dropoutSeed,
      });
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
      helper?.dispose();
      helper = undefined;
      prepared = undefined;
    },
  };
  helpers.set(trainer, () => helper?.thread);
  kernels.set(trainer, impl);
  sharings.set(trainer, sharing);
  return trainer;
}

const helpers = new WeakMap<Trainer, () => Worker | undefined>();
const kernels = new WeakMap<Trainer, MlpKernelImpl>();
const sharings = new WeakMap<Trainer, BatchSharing>();

/** How many of a two-thread trainer's batches were shared with the second thread (benches). */
export function mlpSharingOf(trainer: Trainer): { batches: number; shared: number } | undefined {
  return sharings.get(trainer)?.counts();
}

/** Which kernel a typed-array MLP trainer computes its gradients with. */
export function mlpKernelOf(trainer: Trainer): MlpKernelImpl | undefined {
  return kernels.get(trainer);
}

/** The second thread of a typed-array MLP trainer, once it has started (tests stop it). */
export function helperThreadOf(trainer: Trainer): Worker | undefined {
  return helpers.get(trainer)?.();
}

/** A copy of `array` in shared memory. */
function toShared<T extends Int32Array | Float32Array>(array: T): T {
  const copy = new (array.constructor as new (buffer: SharedArrayBuffer) => T)(
    new SharedArrayBuffer(array.byteLength),
  );
  copy.set(array);
  return copy;
}

function newCtrl(): SharedArrayBuffer {
  return new SharedArrayBuffer(4 * CTRL.length);
}

export interface MlpArrays {
  params: Float32Array;
  m: Float32Array;
  v: Float32Array;
  /** {@link MLP_CHUNKS} gradient sums, one after the other (the kernel's `gradType`). */
  grads: Float64Array | Float32Array;
}

/**
 * Add the chunks' gradients in chunk order and take one Adam step per array (L2 on kernels only, as
 * the TF.js trainer does). Returns the batch's summed loss, also added in chunk order.
 *
 * The update is {@link adamStep}'s, operation for operation (a unit test holds them bit-identical),
 * fused with the chunk sum into one pass over the parameters: it runs between batches while the
 * second thread waits, so its time counts twice.
 */
export function applyGradients(
  layout: MlpLayout,
  arrays: MlpArrays,
  losses: Float64Array,
  step: number,
  size: number,
  options: Pick<TrainerOptions, 'l2' | 'learningRate'>,
): number {
  const { params, m, v, grads } = arrays;
  const n = layout.total;
  const lrT = (options.learningRate * Math.sqrt(1 - ADAM.beta2 ** step)) / (1 - ADAM.beta1 ** step);
  for (let l = 0; l + 1 < layout.sizes.length; l++) {
    const b = layout.bias[l] as number;
    const end = b + (layout.sizes[l + 1] as number);
    adamRange(params, m, v, grads, n, layout.kernel[l] as number, b, size, options.l2, lrT);
    adamRange(params, m, v, grads, n, b, end, size, 0, lrT);
  }
  let loss = 0;
  for (let c = 0; c < MLP_CHUNKS; c++) loss += losses[c] as number;
  return loss;
}

export { csrOf } from './typed-mlp-rows.js';

/** {@link adamStep} on entries `from … to)`, of the sum of the four chunks' gradients (`n` apart). */
function adamRange(
  params: Float32Array,
  m: Float32Array,
  v: Float32Array,
  grads: Float64Array | Float32Array,
  n: number,
  from: number,
  to: number,
  size: number,
  l2: number,
  lrT: number,
): void {
  const { beta1, beta2, epsilon } = ADAM;
  for (let i = from; i < to; i++) {
    const sum =
      (grads[i] as number) +
      (grads[n + i] as number) +
      (grads[2 * n + i] as number) +
      (grads[3 * n + i] as number);
    const p = params[i] as number;
    const grad = sum / size + l2 * p;
    const mi = beta1 * (m[i] as number) + (1 - beta1) * grad;
    const vi = beta2 * (v[i] as number) + (1 - beta2) * grad * grad;
    m[i] = mi;
    v[i] = vi;
    params[i] = p - (lrT * mi) / (Math.sqrt(vi) + epsilon);
  }
}
