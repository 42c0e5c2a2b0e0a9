import type * as tfType from '@tensorflow/tfjs';
import { cloneDense, denseArrays, type DenseParams } from './dense-params.js';
import { mulberry32 } from '../../pipelines/prng.js';
import { adamStep, type Trainer, type TrainerOptions, type TrainerState } from './trainer.js';

type Tf = typeof tfType;

/** Rows per forward pass when computing logits for a whole split. */
const PREDICT_BATCH = 4096;

/**
 * A dense network (logistic, softmax, linear, or an MLP with hidden layers) trained with TF.js on the
 * backend chosen at start-up. The training step is written out (forward and loss in TF.js, gradients
 * from `variableGrads`, Adam on the JS side) rather than `model.fit`, for three reasons: batches come
 * from typed arrays one at a time (WASM is single-threaded, and a whole split as one tensor would not
 * fit); dropout masks come from the seeded PRNG, because TF.js's seeded dropout repeats one mask on
 * every batch; and weights and Adam's moments live in plain arrays that a checkpoint holds and a resumed
 * attempt restores exactly. The Adam step is the typed-array trainer's ({@link adamStep}), so both
 * engines optimise identically.
 */
export function createTfjsDenseTrainer(tf: Tf, initial: DenseParams, options: TrainerOptions): Trainer {
  const sizes = initial.sizes;
  const layers = sizes.length - 1;
  const units = sizes[layers] as number;
  const shapes = initial.kernels.flatMap((_, l) => [
    [sizes[l] as number, sizes[l + 1] as number],
    [sizes[l + 1] as number],
  ]);
  let params: Float32Array[] = [];
  let m: Float32Array[] = [];
  let v: Float32Array[] = [];
  let vars: tfType.Variable[] = [];
  let t = 0;

  const load = (state: TrainerState) => {
    for (const variable of vars) variable.dispose();
    params = denseArrays(cloneDense(state.params));
    m = state.adam.m.map((a) => a.slice());
    v = state.adam.v.map((a) => a.slice());
    t = state.adam.step;
    vars = params.map((a, i) => tf.tidy(() => tf.variable(tf.tensor(a, shapes[i]))));
  };
  load({ params: initial, adam: { m: zerosLike(initial), v: zerosLike(initial), step: 0 } });

  const dense = denseOp(tf);
  const forward = (x: tfType.Tensor2D, masks: tfType.Tensor2D[] | undefined): tfType.Tensor2D => {
    let h = x;
    for (let l = 0; l < layers; l++) {
      h = dense(h, vars[2 * l] as tfType.Tensor2D, vars[2 * l + 1] as tfType.Tensor1D);
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
        const flat = tf.reshape(z, [-1]);
        perRow = tf.add(tf.sub(tf.relu(flat), tf.mul(flat, y)), tf.log1p(tf.exp(tf.neg(tf.abs(flat)))));
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
      const { loss, gradients } = tf.tidy(() => {
        const xs = tf.tensor2d(x.subarray(0, size * width), [size, width]);
        const ys = tf.tensor1d(y.subarray(0, size));
        const ws = w ? tf.tensor1d(w.subarray(0, size)) : undefined;
        const masks =
          options.dropout > 0 ? dropoutMasks(tf, sizes, size, options.dropout, dropoutSeed) : undefined;
        const { value, grads } = tf.variableGrads(() => lossSum(forward(xs, masks), ys, ws), vars);
        return {
          loss: value.dataSync()[0] as number,
          gradients: vars.map(
            (variable) => (grads[variable.name] as tfType.Tensor).dataSync() as Float32Array,
          ),
        };
      });
      t += 1;
      params.forEach((param, i) => {
        // Kernels (even indices) carry the L2 penalty; biases do not.
        const l2 = i % 2 === 0 ? options.l2 : 0;
        adamStep(
          param,
          gradients[i] as Float32Array,
          m[i] as Float32Array,
          v[i] as Float32Array,
          size,
          l2,
          options.learningRate,
          t,
        );
        // In a tidy: the temporary tensor is released, the variable keeps the data.
        tf.tidy(() => (vars[i] as tfType.Variable).assign(tf.tensor(param, shapes[i])));
      });
      return loss;
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
      const copies = params.map((a) => a.slice());
      return {
        params: {
          sizes: [...sizes],
          kernels: copies.filter((_, i) => i % 2 === 0),
          biases: copies.filter((_, i) => i % 2 === 1),
        },
        adam: { m: m.map((a) => a.slice()), v: v.map((a) => a.slice()), step: t },
      };
    },
    restore(state) {
      load(state);
    },
    dispose() {
      for (const variable of vars) variable.dispose();
      vars = [];
    },
  };
}

function zerosLike(params: DenseParams): Float32Array[] {
  return denseArrays(params).map((a) => new Float32Array(a.length));
}

/**
 * `x·W + b` with a hand-written gradient. TF.js differentiates `matMul` into matMuls with transpose
 * flags, which the WASM backend runs 5–10× slower than an explicit `transpose` followed by a plain
 * `matMul`; the bias gradient as `1ᵀ·dy` avoids a reduction over the batch axis. Same numbers (to float
 * rounding), about 3× faster training steps on WASM.
 */
function denseOp(tf: Tf): (x: tfType.Tensor2D, w: tfType.Tensor2D, b: tfType.Tensor1D) => tfType.Tensor2D {
  const op = tf.customGrad((...args: (tfType.Tensor | tfType.GradSaveFunc)[]) => {
    const [x, w, b, save] = args as [tfType.Tensor2D, tfType.Tensor2D, tfType.Tensor1D, tfType.GradSaveFunc];
    save([x, w]);
    return {
      value: tf.add(tf.matMul(x, w), b),
      gradFunc: (dy: tfType.Tensor, saved: tfType.Tensor[]) => {
        const [sx, sw] = saved as [tfType.Tensor2D, tfType.Tensor2D];
        const g = dy as tfType.Tensor2D;
        return [
          tf.matMul(g, tf.transpose(sw)),
          tf.matMul(tf.transpose(sx), g),
          tf.reshape(tf.matMul(tf.ones([1, g.shape[0]]), g), [-1]),
        ];
      },
    };
  });
  return (x, w, b) => op(x, w, b) as tfType.Tensor2D;
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
