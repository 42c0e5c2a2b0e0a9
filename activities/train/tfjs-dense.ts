import type * as tfType from '@tensorflow/tfjs';
import { cloneDense, type DenseParams } from './dense-params.js';
import { mulberry32 } from '../../pipelines/prng.js';
import { ADAM, type Trainer, type TrainerOptions, type TrainerState } from './trainer.js';

type Tf = typeof tfType;

/** Rows per forward pass when computing logits for a whole split. */
const PREDICT_BATCH = 4096;

/**
 * A dense network (logistic, softmax, linear, or an MLP with hidden layers) trained with TF.js on the
 * backend chosen at start-up. The training step is written out (forward, loss, `variableGrads`, Adam)
 * rather than `model.fit`, for three reasons: batches come from typed arrays one at a time (WASM is
 * single-threaded, and a whole split as one tensor would not fit); dropout masks come from the seeded
 * PRNG, because TF.js's seeded dropout repeats one mask on every batch; and Adam's moments are plain
 * arrays a checkpoint can hold and a resumed attempt can restore exactly.
 */
export function createTfjsDenseTrainer(tf: Tf, initial: DenseParams, options: TrainerOptions): Trainer {
  const sizes = initial.sizes;
  const layers = sizes.length - 1;
  const units = sizes[layers] as number;
  let vars: tfType.Variable[] = [];
  let ms: tfType.Variable[] = [];
  let vs: tfType.Variable[] = [];
  let t = 0;

  const load = (params: DenseParams, m?: Float32Array[], v?: Float32Array[]) => {
    for (const variable of [...vars, ...ms, ...vs]) variable.dispose();
    const shapes = params.kernels.flatMap((_, l) => [
      [sizes[l] as number, sizes[l + 1] as number],
      [sizes[l + 1] as number],
    ]);
    const arrays = params.kernels.flatMap((k, l) => [k, params.biases[l] as Float32Array]);
    const variable = (values: Float32Array | undefined, i: number) =>
      tf.tidy(() => {
        const shape = shapes[i] as number[];
        return tf.variable(values ? tf.tensor(values, shape) : tf.zeros(shape));
      });
    vars = arrays.map((a, i) => variable(a, i));
    ms = arrays.map((_, i) => variable(m?.[i], i));
    vs = arrays.map((_, i) => variable(v?.[i], i));
  };
  load(initial);

  const forward = (x: tfType.Tensor2D, masks: tfType.Tensor2D[] | undefined): tfType.Tensor2D => {
    let h = x;
    for (let l = 0; l < layers; l++) {
      h = tf.add(tf.matMul(h, vars[2 * l] as tfType.Tensor2D), vars[2 * l + 1] as tfType.Tensor1D);
      if (l + 1 < layers) {
        h = options.activation === 'relu' ? tf.relu(h) : tf.tanh(h);
        const mask = masks?.[l];
        if (mask) h = tf.mul(h, mask);
      }
    }
    return h;
  };

  const lossSum = (z: tfType.Tensor2D, y: tfType.Tensor, w: tfType.Tensor | undefined): tfType.Scalar => {
    let perRow: tfType.Tensor;
    switch (options.output) {
      case 'sigmoid': {
        const v = tf.reshape(z, [-1]);
        perRow = tf.add(tf.sub(tf.relu(v), tf.mul(v, y)), tf.log1p(tf.exp(tf.neg(tf.abs(v)))));
        break;
      }
      case 'softmax': {
        const oneHot = tf.oneHot(tf.cast(y, 'int32'), units);
        perRow = tf.sub(tf.logSumExp(z, 1), tf.sum(tf.mul(z, oneHot), 1));
        break;
      }
      case 'linear':
        perRow = tf.square(tf.sub(tf.reshape(z, [-1]), y));
        break;
    }
    return tf.sum(w ? tf.mul(perRow, w) : perRow);
  };

  return {
    engine: 'tfjs',
    step(x, y, w, size, dropoutSeed) {
      const width = sizes[0] as number;
      t += 1;
      const lrT = (options.learningRate * Math.sqrt(1 - ADAM.beta2 ** t)) / (1 - ADAM.beta1 ** t);
      return tf.tidy(() => {
        const xs = tf.tensor2d(x.subarray(0, size * width), [size, width]);
        const ys = tf.tensor1d(y.subarray(0, size));
        const ws = w ? tf.tensor1d(w.subarray(0, size)) : undefined;
        const masks =
          options.dropout > 0 ? dropoutMasks(tf, sizes, size, options.dropout, dropoutSeed) : undefined;
        const { value, grads } = tf.variableGrads(() => {
          let loss = tf.div<tfType.Scalar>(lossSum(forward(xs, masks), ys, ws), size);
          if (options.l2 > 0) {
            for (let l = 0; l < layers; l++) {
              loss = tf.add(
                loss,
                tf.mul(0.5 * options.l2, tf.sum(tf.square(vars[2 * l] as tfType.Variable))),
              );
            }
          }
          return loss;
        }, vars);
        vars.forEach((variable, i) => {
          const g = grads[variable.name] as tfType.Tensor;
          const m = ms[i] as tfType.Variable;
          const v = vs[i] as tfType.Variable;
          m.assign(tf.add(tf.mul(m, ADAM.beta1), tf.mul(g, 1 - ADAM.beta1)));
          v.assign(tf.add(tf.mul(v, ADAM.beta2), tf.mul(tf.square(g), 1 - ADAM.beta2)));
          variable.assign(tf.sub(variable, tf.div(tf.mul(m, lrT), tf.add(tf.sqrt(v), ADAM.epsilon))));
        });
        return (value.dataSync()[0] as number) * size;
      });
    },
    logits(x, rows) {
      const width = sizes[0] as number;
      const out = new Float32Array(rows * units);
      for (let start = 0; start < rows; start += PREDICT_BATCH) {
        const n = Math.min(PREDICT_BATCH, rows - start);
        const z = tf.tidy(() =>
          forward(tf.tensor2d(x.subarray(start * width, (start + n) * width), [n, width]), undefined),
        );
        out.set(z.dataSync(), start * units);
        z.dispose();
      }
      return out;
    },
    state(): TrainerState {
      const read = (list: tfType.Variable[]) =>
        list.map((variable) => Float32Array.from(variable.dataSync()));
      const arrays = read(vars);
      const params: DenseParams = {
        sizes: [...sizes],
        kernels: arrays.filter((_, i) => i % 2 === 0),
        biases: arrays.filter((_, i) => i % 2 === 1),
      };
      return { params, adam: { m: read(ms), v: read(vs), step: t } };
    },
    restore(state) {
      load(cloneDense(state.params), state.adam.m, state.adam.v);
      t = state.adam.step;
    },
    dispose() {
      for (const variable of [...vars, ...ms, ...vs]) variable.dispose();
      vars = [];
      ms = [];
      vs = [];
    },
  };
}

/** Inverted-dropout masks for each hidden layer: 0, or 1 / (1 − rate), from a seeded stream. */
function dropoutMasks(tf: Tf, sizes: number[], rows: number, rate: number, seed: number): tfType.Tensor2D[] {
  const random = mulberry32(seed);
  const keep = 1 / (1 - rate);
  const masks: tfType.Tensor2D[] = [];
  for (let l = 1; l + 1 < sizes.length; l++) {
    const width = sizes[l] as number;
    const mask = new Float32Array(rows * width);
    for (let i = 0; i < mask.length; i++) mask[i] = random() < rate ? 0 : keep;
    masks.push(tf.tensor2d(mask, [rows, width]));
  }
  return masks;
}
