import { adamStep, rowLoss, type Trainer, type TrainerOptions, type TrainerState } from './trainer.js';
import { cloneDense, type DenseParams } from './dense-params.js';
import { runsOf } from './epoch-order.js';
import { LinearRowsMemory, kernelMath } from './linear-rows-wasm.js';

import { RECORD, rowRecords, sparseRows } from './row-records.js';

// One output's loss uses the WebAssembly kernel's exp and logs, here as in the kernel: V8's differ in
// the last bit for some inputs, and `step` and `stepRows` give bit-identical weights.
const { exp, log, log1p } = kernelMath;

/**
 * Logistic, softmax and linear regression in plain typed arrays: no tensors, no backend, no copies.
 * For a single dense layer, TF.js on WASM spends most of each step in per-op overhead; this loop does
 * the same Adam step (same loss, same L2, same initial weights) several times faster, which the `train`
 * bench measures beside TF.js and beside a hand-written loop on the same matrix.
 *
 * The training loop calls `stepRows`: the split is kept as one short record of non-zeros per row
 * (`row-records.ts`, built once, in the run's row shuffle), so each block of the epoch order
 * (`epoch-order.ts`) is one contiguous run of records and an epoch streams through memory; forward,
 * loss and gradient are fused in one pass over each row's few entries, and nothing is allocated per
 * row. With one output (logistic and linear regression) that pass is WebAssembly (linear-rows.as,
 * over the records in its memory: no bounds checks, the loop’s values in registers), about twice the
 * same loop in JavaScript; softmax's is JavaScript. The arithmetic is the dense loop's with the zero
 * terms left out, with the kernel's own exp and logs in both, so it gives bit-identical weights to
 * `step` on the same rows.
 */
export function createTypedLinearTrainer(initial: DenseParams, options: TrainerOptions): Trainer {
  if (initial.kernels.length !== 1) throw new Error('the typed-array trainer fits linear models only');
  const [width, units] = initial.sizes as [number, number];
  const { output } = options;
  const kind = units !== 1 ? UNITS : output === 'sigmoid' ? SIGMOID : LINEAR;
  // The weights and gradient sums live in these arrays for the trainer's life (`restore` copies into
  // them), so every batch hands the kernels the same arrays: with one output, views of the kernel's
  // WebAssembly memory (taken again after the memory grows, which detaches them).
  const memory = kind === UNITS ? undefined : new LinearRowsMemory(width);
  let W = memory ? memory.W : new Float32Array(width * units);
  let gradW = memory ? memory.gradW : new Float64Array(width * units);
  let gradB = memory ? memory.gradB : new Float64Array(units);
  W.set(initial.kernels[0] as Float32Array);
  const b = Float32Array.from(initial.biases[0] as Float32Array);
  const m = [new Float32Array(width * units), new Float32Array(units)] as const;
  const v = [new Float32Array(width * units), new Float32Array(units)] as const;
  let t = 0;
  const acc = new Float64Array(units);
  const z = new Float32Array(units);
  const g = new Float64Array(units);
  const lossParts = new Float64Array(2);
  // The batch's runs of contiguous records (epoch-order.ts), reused from batch to batch.
  let runs: Int32Array = new Int32Array(64);
  const params = (): DenseParams => ({ sizes: [width, units], kernels: [W], biases: [b] });

  /** Adam on the summed gradients of `size` rows; then the sums start again from zero. */
  const update = (size: number) => {
    t += 1;
    adamStep(W, gradW, m[0], v[0], size, options.l2, options.learningRate, t);
    adamStep(b, gradB, m[1], v[1], size, 0, options.learningRate, t);
    gradW.fill(0);
    gradB.fill(0);
  };

  return {
    engine: 'typed-array',
    step(x, y, w, size) {
      let loss = 0;
      startLoss(lossParts);
      for (let i = 0; i < size; i++) {
        const base = i * width;
        for (let k = 0; k < units; k++) acc[k] = b[k] as number;
        for (let j = 0; j < width; j++) {
          const xj = x[base + j] as number;
          if (xj === 0) continue;
          for (let k = 0; k < units; k++) acc[k] = (acc[k] as number) + xj * (W[j * units + k] as number);
        }
        for (let k = 0; k < units; k++) z[k] = acc[k] as number;
        const weight = w ? (w[i] as number) : 1;
        const target = y[i] as number;
        if (kind === SIGMOID) g[0] = sigmoidRow(z[0] as number, target, weight, lossParts);
        else {
          loss += weight * rowLoss(output, z, 0, units, target);
          outputGradient(output, z, target, units, g);
        }
        for (let k = 0; k < units; k++) {
          const gk = (g[k] as number) * weight;
          if (gk === 0) continue;
          gradB[k] = (gradB[k] as number) + gk;
          for (let j = 0; j < width; j++) {
            const xj = x[base + j] as number;
            if (xj !== 0) gradW[j * units + k] = (gradW[j * units + k] as number) + gk * xj;
          }
        }
      }
      update(size);
      return kind === SIGMOID ? endLoss(lossParts) : loss;
    },
    stepRows(data, order, start, size) {
      if (memory) {
        memory.records(data, order.base);
        const view = memory.runs(size, order.blockSize);
        const { runs: written, count } = runsOf(order, start, size, view);
        if (written !== view) throw new Error('runsOf needed more room than LinearRowsMemory.runs gave');
        const loss = memory.batch(kind === SIGMOID, count, b[0] as number);
        ({ W, gradW, gradB } = memory);
        update(size);
        return loss;
      }
      const { stride, k: K, words, floats } = rowRecords(data, order.base);
      const found = runsOf(order, start, size, runs);
      runs = found.runs;
      const loss = unitsRows(
        output,
        units,
        words,
        floats,
        stride,
        K,
        runs,
        found.count,
        W,
        b,
        gradW,
        gradB,
        acc,
        z,
        g,
      );
      update(size);
      return loss;
    },
    logits(x, rows) {
      const out = new Float32Array(rows * units);
      // Only the non-zero inputs are multiplied (a zero adds exactly 0 to the sum), in column order.
      const { offsets, index, value } = sparseRows(x, rows, width);
      for (let i = 0; i < rows; i++) {
        const from = offsets[i] as number;
        const to = offsets[i + 1] as number;
        for (let k = 0; k < units; k++) {
          let s = b[k] as number;
          for (let p = from; p < to; p++)
            s += (value[p] as number) * (W[(index[p] as number) * units + k] as number);
          out[i * units + k] = s;
        }
      }
      return out;
    },
    state(): TrainerState {
      return {
        params: cloneDense(params()),
        adam: { m: m.map((a) => a.slice()), v: v.map((a) => a.slice()), step: t },
      };
    },
    restore(state) {
      const [kernel, bias] = [state.params.kernels[0], state.params.biases[0]];
      if (state.params.kernels.length !== 1 || kernel?.length !== W.length || bias?.length !== b.length)
        throw new Error(
          `the checkpoint holds a ${state.params.sizes.join('-')} network, this trainer a ${width}-${units} linear model: resume from a checkpoint of the same model`,
        );
      W.set(kernel);
      b.set(bias);
      for (const l of [0, 1] as const) {
        m[l].set(state.adam.m[l] as Float32Array);
        v[l].set(state.adam.v[l] as Float32Array);
      }
      t = state.adam.step;
    },
    dispose() {
      runs = new Int32Array(0);
    },
  };
}

/**
 * A record's layout as plain numbers: a kernel that read `RECORD.y` would depend on that object's
 * field staying constant, and V8 throws the kernel's optimised code away when another object of the
 * same shape has a field of that name written, which happened mid-training.
 */
const { valued: VALUED, ones: ONES, y: Y, w: WEIGHT, entries: ENTRIES } = RECORD;

/** Which kernel a trainer's batches take: fixed when it is created. */
const SIGMOID = 0;
const LINEAR = 1;
const UNITS = 2;

/*
 * The per-batch kernels: module-level functions of typed arrays and numbers only (no closure over the
 * trainer, no object whose shape could change), so V8 optimises each once, early in the first epoch,
 * and nothing its code depends on changes afterwards. Each walks the batch's runs of records (`runs`
 * holds `count` pairs: first record, number of records), adds the batch's gradient sums into `gradW`
 * and `gradB` and returns the batch's summed (weighted) loss. The arithmetic is the dense `step`'s
 * with the zero terms left out, so both give bit-identical weights and losses on the same rows.
 */

/**
 * A batch's logistic loss is summed as `Σ w·(max(z, 0) − z·y) + log Π (1 + e^−|z|)`: one `log` per
 * batch instead of a `log1p` per row, for rows of weight 1 (a row of another weight adds its own
 * `w·log1p`). `parts` holds the running sum and product; every factor is at most 2, so the product is
 * folded into the sum before it can overflow.
 */
function startLoss(parts: Float64Array): void {
  parts[0] = 0;
  parts[1] = 1;
}

function endLoss(parts: Float64Array): number {
  return (parts[0] as number) + log(parts[1] as number);
}

/** Adds one row's logistic loss to `parts`; returns d loss / d logit (unweighted). */
function sigmoidRow(zi: number, target: number, weight: number, parts: Float64Array): number {
  // One exp serves the loss and the gradient (the same arithmetic as rowLoss and outputGradient).
  const e = exp(-Math.abs(zi));
  let sum = (parts[0] as number) + weight * (Math.max(zi, 0) - zi * target);
  if (weight === 1) {
    const product = (parts[1] as number) * (1 + e);
    if (product > 1e300) {
      sum += log(product);
      parts[1] = 1;
    } else parts[1] = product;
  } else sum += weight * log1p(e);
  parts[0] = sum;
  return (zi >= 0 ? 1 / (1 + e) : e / (1 + e)) - target;
}

/** Several outputs (softmax): `acc`, `z` and `g` are per-row scratch of `units` entries. */
function unitsRows(
  output: TrainerOptions['output'],
  units: number,
  words: Int32Array,
  floats: Float32Array,
  stride: number,
  K: number,
  runs: Int32Array,
  count: number,
  W: Float32Array,
  b: Float32Array,
  gradW: Float64Array,
  gradB: Float64Array,
  acc: Float64Array,
  z: Float32Array,
  g: Float64Array,
): number {
  let loss = 0;
  for (let r = 0; r < count; r++) {
    const from = runs[2 * r] as number;
    const end = (from + (runs[2 * r + 1] as number)) * stride;
    for (let at = from * stride; at < end; at += stride) {
      const valued = words[at + VALUED] as number;
      const n = valued + (words[at + ONES] as number);
      const first = at + ENTRIES;
      for (let k = 0; k < units; k++) acc[k] = b[k] as number;
      for (let p = 0; p < n; p++) {
        // An entry of the all-0-and-1 columns has no value word: it is 1.
        const xj = p < valued ? (floats[first + K + p] as number) : 1;
        const base = (words[first + p] as number) * units;
        for (let k = 0; k < units; k++) acc[k] = (acc[k] as number) + xj * (W[base + k] as number);
      }
      for (let k = 0; k < units; k++) z[k] = acc[k] as number;
      const target = floats[at + Y] as number;
      const weight = floats[at + WEIGHT] as number;
      loss += weight * rowLoss(output, z, 0, units, target);
      outputGradient(output, z, target, units, g);
      for (let k = 0; k < units; k++) {
        const gk = (g[k] as number) * weight;
        if (gk === 0) continue;
        gradB[k] = (gradB[k] as number) + gk;
        for (let p = 0; p < n; p++) {
          const j = (words[first + p] as number) * units + k;
          gradW[j] = (gradW[j] as number) + gk * (p < valued ? (floats[first + K + p] as number) : 1);
        }
      }
    }
  }
  return loss;
}

/** d loss / d logit for one row, written into `g`. */
function outputGradient(
  output: TrainerOptions['output'],
  z: Float32Array,
  y: number,
  units: number,
  g: Float64Array,
): void {
  switch (output) {
    case 'sigmoid': {
      // The logistic function from exp(-|z|): never overflows, and the same numbers `stepRows` uses.
      const v = z[0] as number;
      const e = Math.exp(-Math.abs(v));
      g[0] = (v >= 0 ? 1 / (1 + e) : e / (1 + e)) - y;
      return;
    }
    case 'linear':
      g[0] = 2 * ((z[0] as number) - y);
      return;
    case 'softmax': {
      let max = -Infinity;
      for (let k = 0; k < units; k++) max = Math.max(max, z[k] as number);
      let sum = 0;
      for (let k = 0; k < units; k++) sum += Math.exp((z[k] as number) - max);
      for (let k = 0; k < units; k++) g[k] = Math.exp((z[k] as number) - max) / sum - (k === y ? 1 : 0);
    }
  }
}
