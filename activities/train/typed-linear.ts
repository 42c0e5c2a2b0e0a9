import { adamStep, rowLoss, type Trainer, type TrainerOptions, type TrainerState } from './trainer.js';
import { cloneDense, type DenseParams } from './dense-params.js';
import { runsOf } from './epoch-order.js';
import { RECORD, rowRecords, sparseRows } from './row-records.js';

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
 * row. The arithmetic is the dense loop's with the
 * zero terms left out, so it gives bit-identical weights to `step` on the same rows.
 */
export function createTypedLinearTrainer(initial: DenseParams, options: TrainerOptions): Trainer {
  if (initial.kernels.length !== 1) throw new Error('the typed-array trainer fits linear models only');
  let params = cloneDense(initial);
  const [width, units] = params.sizes as [number, number];
  let m = [new Float32Array(width * units), new Float32Array(units)];
  let v = [new Float32Array(width * units), new Float32Array(units)];
  let t = 0;
  const gradW = new Float64Array(width * units);
  const gradB = new Float64Array(units);
  const acc = new Float64Array(units);
  const z = new Float32Array(units);
  const g = new Float64Array(units);
  const { output } = options;
  // The batch's runs of contiguous records (epoch-order.ts), reused from batch to batch.
  let runs: Int32Array = new Int32Array(64);
  let runCount = 0;

  /** Adam on the summed gradients of `size` rows; then the sums start again from zero. */
  const update = (size: number) => {
    t += 1;
    adamStep(
      params.kernels[0] as Float32Array,
      gradW,
      m[0] as Float32Array,
      v[0] as Float32Array,
      size,
      options.l2,
      options.learningRate,
      t,
    );
    adamStep(
      params.biases[0] as Float32Array,
      gradB,
      m[1] as Float32Array,
      v[1] as Float32Array,
      size,
      0,
      options.learningRate,
      t,
    );
    gradW.fill(0);
    gradB.fill(0);
  };

  return {
    engine: 'typed-array',
    step(x, y, w, size) {
      const W = params.kernels[0] as Float32Array;
      const b = params.biases[0] as Float32Array;
      let loss = 0;
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
        loss += weight * rowLoss(output, z, 0, units, target);
        outputGradient(output, z, target, units, g);
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
      return loss;
    },
    stepRows(data, order, start, size) {
      const records = rowRecords(data, order.base);
      const { stride, k: K, words, floats } = records;
      ({ runs, count: runCount } = runsOf(order, start, size, runs));
      const W = params.kernels[0] as Float32Array;
      const b = params.biases[0] as Float32Array;
      const entries = RECORD.entries;
      let loss = 0;
      if (units === 1) {
        // Sigmoid and linear outputs: one logit, so a row's few entries are walked twice and nothing else.
        const sigmoid = output === 'sigmoid';
        const b0 = b[0] as number;
        let gb = gradB[0] as number;
        for (let r = 0; r < runCount; r++) {
          const from = runs[2 * r] as number;
          for (
            let at = from * stride, end = (from + (runs[2 * r + 1] as number)) * stride;
            at < end;
            at += stride
          ) {
            const count = words[at] as number;
            const first = at + entries;
            let s = b0;
            for (let p = 0; p < count; p++) {
              s += (floats[first + K + p] as number) * (W[words[first + p] as number] as number);
            }
            const zi = Math.fround(s);
            const target = floats[at + RECORD.y] as number;
            const weight = floats[at + RECORD.w] as number;
            let gi: number;
            if (sigmoid) {
              // One exp serves the loss and the gradient (the same arithmetic as rowLoss and outputGradient).
              const e = Math.exp(-Math.abs(zi));
              loss += weight * (Math.max(zi, 0) - zi * target + Math.log1p(e));
              gi = (zi >= 0 ? 1 / (1 + e) : e / (1 + e)) - target;
            } else {
              const d = zi - target;
              loss += weight * (d * d);
              gi = 2 * d;
            }
            const gk = gi * weight;
            if (gk === 0) continue;
            gb += gk;
            for (let p = 0; p < count; p++) {
              const j = words[first + p] as number;
              gradW[j] = (gradW[j] as number) + gk * (floats[first + K + p] as number);
            }
          }
        }
        gradB[0] = gb;
      } else {
        for (let r = 0; r < runCount; r++) {
          const from = runs[2 * r] as number;
          for (
            let at = from * stride, end = (from + (runs[2 * r + 1] as number)) * stride;
            at < end;
            at += stride
          ) {
            const count = words[at] as number;
            const first = at + entries;
            for (let k = 0; k < units; k++) acc[k] = b[k] as number;
            for (let p = 0; p < count; p++) {
              const xj = floats[first + K + p] as number;
              const base = (words[first + p] as number) * units;
              for (let k = 0; k < units; k++) acc[k] = (acc[k] as number) + xj * (W[base + k] as number);
            }
            for (let k = 0; k < units; k++) z[k] = acc[k] as number;
            const target = floats[at + RECORD.y] as number;
            const weight = floats[at + RECORD.w] as number;
            loss += weight * rowLoss(output, z, 0, units, target);
            outputGradient(output, z, target, units, g);
            for (let k = 0; k < units; k++) {
              const gk = (g[k] as number) * weight;
              if (gk === 0) continue;
              gradB[k] = (gradB[k] as number) + gk;
              for (let p = 0; p < count; p++) {
                const j = (words[first + p] as number) * units + k;
                gradW[j] = (gradW[j] as number) + gk * (floats[first + K + p] as number);
              }
            }
          }
        }
      }
      update(size);
      return loss;
    },
    logits(x, rows) {
      const W = params.kernels[0] as Float32Array;
      const b = params.biases[0] as Float32Array;
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
        params: cloneDense(params),
        adam: { m: m.map((a) => a.slice()), v: v.map((a) => a.slice()), step: t },
      };
    },
    restore(state) {
      params = cloneDense(state.params);
      m = state.adam.m.map((a) => a.slice());
      v = state.adam.v.map((a) => a.slice());
      t = state.adam.step;
    },
    dispose() {
      runs = new Int32Array(0);
    },
  };
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
