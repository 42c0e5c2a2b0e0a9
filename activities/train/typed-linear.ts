import { adamStep, rowLoss, type Trainer, type TrainerOptions, type TrainerState } from './trainer.js';
import { cloneDense, type DenseParams } from './dense-params.js';

/**
 * Logistic, softmax and linear regression in plain typed arrays: no tensors, no backend, no copies.
 * For a single dense layer, TF.js on WASM spends most of each step in per-op overhead; this loop does
 * the same Adam step (same loss, same L2, same initial weights) several times faster, which the `train`
 * bench measures beside TF.js on the same matrix.
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
  const z = new Float32Array(units);
  const g = new Float64Array(units);

  const forward = (x: Float32Array, row: number, out: Float32Array, offset: number) => {
    const W = params.kernels[0] as Float32Array;
    const b = params.biases[0] as Float32Array;
    for (let k = 0; k < units; k++) {
      let s = b[k] as number;
      for (let j = 0; j < width; j++) s += (x[row * width + j] as number) * (W[j * units + k] as number);
      out[offset + k] = s;
    }
  };

  return {
    engine: 'typed-array',
    step(x, y, w, size) {
      gradW.fill(0);
      gradB.fill(0);
      let loss = 0;
      for (let i = 0; i < size; i++) {
        forward(x, i, z, 0);
        const weight = w ? (w[i] as number) : 1;
        const target = y[i] as number;
        loss += weight * rowLoss(options.output, z, 0, units, target);
        outputGradient(options.output, z, target, units, g);
        for (let k = 0; k < units; k++) {
          const gk = (g[k] as number) * weight;
          if (gk === 0) continue;
          gradB[k] = (gradB[k] as number) + gk;
          for (let j = 0; j < width; j++) {
            const xj = x[i * width + j] as number;
            if (xj !== 0) gradW[j * units + k] = (gradW[j * units + k] as number) + gk * xj;
          }
        }
      }
      t += 1;
      const W = params.kernels[0] as Float32Array;
      const b = params.biases[0] as Float32Array;
      adamStep(
        W,
        gradW,
        m[0] as Float32Array,
        v[0] as Float32Array,
        size,
        options.l2,
        options.learningRate,
        t,
      );
      adamStep(b, gradB, m[1] as Float32Array, v[1] as Float32Array, size, 0, options.learningRate, t);
      return loss;
    },
    logits(x, rows) {
      const out = new Float32Array(rows * units);
      for (let i = 0; i < rows; i++) forward(x, i, out, i * units);
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
    dispose() {},
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
    case 'sigmoid':
      g[0] = 1 / (1 + Math.exp(-(z[0] as number))) - y;
      return;
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
