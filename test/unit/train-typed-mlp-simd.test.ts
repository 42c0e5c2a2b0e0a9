import { describe, expect, it } from 'vitest';
import { denseArrays, initDense } from '../../activities/train/dense-params.js';
import { adamStep, type OutputKind, type TrainingData } from '../../activities/train/trainer.js';
import { runTrainingLoop } from '../../activities/train/training-loop.js';
import { createMlpKernel, type BatchRows } from '../../activities/train/typed-mlp-kernel.js';
import { flattenInto, mlpLayout } from '../../activities/train/typed-mlp-layout.js';
import {
  chooseMlpKernel,
  createSimdMlpKernel,
  simdUnavailable,
} from '../../activities/train/typed-mlp-simd.js';
import { MLP_CHUNKS } from '../../activities/train/typed-mlp-helper.js';
import {
  applyGradients,
  createTypedMlpTrainer,
  csrOf,
  mlpKernelOf,
} from '../../activities/train/typed-mlp.js';
import { mulberry32 } from '../../pipelines/prng.js';

/** `rows` rows of `width` inputs, most of them 0 (as one-hot columns are), labels for `output`. */
function sparse(rows: number, width: number, output: OutputKind, units: number, seed: number): TrainingData {
  const random = mulberry32(seed);
  const x = new Float32Array(rows * width);
  for (let i = 0; i < x.length; i++) if (random() < 0.3) x[i] = random() * 4 - 2;
  const y = Float32Array.from({ length: rows }, () =>
    output === 'softmax'
      ? Math.floor(random() * units)
      : output === 'linear'
        ? random() * 3 - 1
        : +(random() < 0.4),
  );
  const w = Float32Array.from({ length: rows }, () => 0.5 + random());
  return { x, y, w, rows, width };
}

function paramsOf(sizes: number[], seed: number): Float32Array {
  const layout = mlpLayout(sizes);
  const params = new Float32Array(layout.total);
  flattenInto(layout, denseArrays(initDense(sizes, mulberry32(seed))), params);
  // Non-zero biases, and some weights large enough that tanh saturates and ReLUs die.
  const random = mulberry32(seed + 1);
  for (let i = 0; i < params.length; i++) params[i] = (params[i] as number) * (1 + 2 * random()) + 0.05;
  return params;
}

function batchOf(data: TrainingData, seed: number, weighted: boolean): BatchRows {
  // Rows in a shuffled order, as an epoch reads them, starting part-way into it.
  const random = mulberry32(seed);
  const rows = Int32Array.from({ length: data.rows + 3 }, (_, i) => i % data.rows);
  for (let i = rows.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rows[i], rows[j]] = [rows[j] as number, rows[i] as number];
  }
  return {
    csr: csrOf(data.x, data.rows, data.width),
    y: data.y,
    w: weighted ? data.w : undefined,
    rows,
    start: 3,
    size: data.rows,
    dropoutSeed: 0x9e3779b9,
  };
}

/** Largest |a - b| over the arrays, relative to the largest |b| (at least 1). */
function relativeDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / scale;
}

describe('WebAssembly SIMD MLP kernel', () => {
  it('runs here (Node 20 has WebAssembly SIMD)', () => {
    expect(simdUnavailable(mlpLayout([52, 64, 32, 1]))).toBeUndefined();
  });

  it.each<[string, number[], OutputKind, 'relu' | 'tanh', number, boolean]>([
    ['64-32, the bench network', [52, 64, 32, 1], 'sigmoid', 'relu', 0.1, true],
    ['odd widths, tanh, softmax', [13, 5, 7, 3], 'softmax', 'tanh', 0.3, true],
    ['one wide hidden layer, linear', [10, 37, 1], 'linear', 'relu', 0, false],
    ['no hidden layer', [9, 1], 'sigmoid', 'tanh', 0, true],
    ['three hidden layers, half dropped', [21, 40, 33, 6, 4], 'softmax', 'relu', 0.5, true],
    ['tanh, dropout, linear output', [6, 70, 2], 'linear', 'tanh', 0.2, true],
  ])(
    '%s: gradient, loss and logits match the JS kernel',
    (_, sizes, output, activation, dropout, weighted) => {
      const units = sizes.at(-1) as number;
      const data = sparse(80, sizes[0] as number, output, units, sizes.length * 7 + units);
      const layout = mlpLayout(sizes);
      const params = paramsOf(sizes, 3);
      const options = { output, activation, dropout };
      const js = createMlpKernel(layout, options);
      const simd = createSimdMlpKernel(layout, options);
      const batch = batchOf(data, 5, weighted);
      // A chunk in the middle of the batch (its dropout draws are those of its batch positions), then
      // a larger one: the kernel grows its memory.
      for (const [from, to] of [
        [20, 40],
        [0, 80],
        [79, 80],
      ] as const) {
        const expected = new Float64Array(layout.total);
        const actual = new Float64Array(layout.total).fill(Number.NaN);
        const lossJs = js.gradient(params, expected, batch, from, to);
        const lossSimd = simd.gradient(params, actual, batch, from, to);
        expect(actual.every(Number.isFinite)).toBe(true);
        expect(relativeDifference(actual, expected)).toBeLessThan(2e-5);
        expect(Math.abs(lossSimd - lossJs) / Math.max(1, Math.abs(lossJs))).toBeLessThan(1e-5);
      }
      // Over several forward blocks (256 rows each), no dropout.
      const many = sparse(600, sizes[0] as number, output, units, 11);
      const logits = simd.logits(params, many.x, many.rows);
      expect(logits.length).toBe(600 * units);
      expect(relativeDifference(logits, js.logits(params, many.x, many.rows))).toBeLessThan(1e-5);
    },
  );

  it('an empty chunk and rows with no non-zero input', () => {
    const sizes = [8, 12, 1];
    const layout = mlpLayout(sizes);
    const data = sparse(10, 8, 'sigmoid', 1, 2);
    data.x.fill(0, 0, 5 * 8);
    const params = paramsOf(sizes, 4);
    const options = { output: 'sigmoid' as const, activation: 'relu' as const, dropout: 0.1 };
    const simd = createSimdMlpKernel(layout, options);
    const js = createMlpKernel(layout, options);
    const batch = batchOf(data, 1, true);
    const grad = new Float32Array(layout.total).fill(1);
    expect(simd.gradient(params, grad, batch, 4, 4)).toBe(0);
    expect(grad.every((g) => g === 0)).toBe(true);
    const expected = new Float64Array(layout.total);
    js.gradient(params, expected, batch, 0, 10);
    simd.gradient(params, grad, batch, 0, 10);
    expect(relativeDifference(grad, expected)).toBeLessThan(2e-5);
  });
});

describe("the MLP trainer's Adam step", () => {
  it("is adamStep on the sum of the chunks' gradients, bit for bit", () => {
    const layout = mlpLayout([7, 6, 3]);
    const n = layout.total;
    const random = mulberry32(17);
    const fill = (a: Float32Array | Float64Array, scale: number) =>
      a.forEach((_, i) => (a[i] = (random() - 0.5) * scale));
    for (const grads of [new Float32Array(MLP_CHUNKS * n), new Float64Array(MLP_CHUNKS * n)]) {
      const params = new Float32Array(n);
      const m = new Float32Array(n);
      const v = new Float32Array(n);
      fill(params, 2);
      fill(m, 0.1);
      fill(v, 0.01);
      fill(grads, 40);
      v.forEach((x, i) => (v[i] = Math.abs(x)));
      const expected = { params: params.slice(), m: m.slice(), v: v.slice() };
      const losses = Float64Array.of(1.5, 2.25, 0.125, 3);
      const options = { l2: 0.003, learningRate: 0.01 };
      const loss = applyGradients(layout, { params, m, v, grads }, losses, 7, 50, options);
      expect(loss).toBe(1.5 + 2.25 + 0.125 + 3);
      const sum = new Float64Array(n);
      for (let c = 0; c < MLP_CHUNKS; c++) for (let i = 0; i < n; i++) sum[i] = sum[i]! + grads[c * n + i]!;
      for (let l = 0; l < 2; l++) {
        const [k, b, end] = [layout.kernel[l]!, layout.bias[l]!, layout.bias[l]! + layout.sizes[l + 1]!];
        for (const [from, to, l2] of [
          [k, b, options.l2],
          [b, end, 0],
        ] as const) {
          const part = (a: Float32Array) => a.subarray(from, to);
          adamStep(
            part(expected.params),
            sum.subarray(from, to),
            part(expected.m),
            part(expected.v),
            50,
            l2,
            0.01,
            7,
          );
        }
      }
      expect(Array.from(params)).toEqual(Array.from(expected.params));
      expect(Array.from(m)).toEqual(Array.from(expected.m));
      expect(Array.from(v)).toEqual(Array.from(expected.v));
    }
  });
});

describe('typed-array MLP trainer on the SIMD kernel', () => {
  const train = sparse(4000, 15, 'softmax', 3, 21);
  const validation = sparse(500, 15, 'softmax', 3, 22);
  const initial = initDense([15, 24, 10, 3], mulberry32(8));
  const options = {
    output: 'softmax' as const,
    learningRate: 0.01,
    l2: 0.001,
    dropout: 0.2,
    activation: 'relu' as const,
  };
  const loop = {
    epochs: 3,
    batchSize: 128,
    seed: 3,
    output: 'softmax' as const,
    earlyStopping: { patience: 10, minDelta: 0 },
  };

  const trainWith = async (kernel: 'wasm-simd' | 'js' | undefined, threads: 1 | 2) => {
    const trainer = createTypedMlpTrainer(initial, {
      ...options,
      threads,
      ...(kernel ? { kernel } : {}),
    });
    try {
      const result = await runTrainingLoop(trainer, train, validation, loop);
      return {
        impl: mlpKernelOf(trainer),
        weights: denseArrays(result.params),
        history: result.history.map(({ ms: _, ...h }) => h),
      };
    } finally {
      trainer.dispose();
    }
  };

  it('uses the SIMD kernel by default, and trains what the JS kernel trains up to float rounding', async () => {
    const simd = await trainWith(undefined, 1);
    const js = await trainWith('js', 1);
    expect(simd.impl).toBe('wasm-simd');
    expect(js.impl).toBe('js');
    simd.history.forEach((h, i) => {
      expect(h.trainLoss).toBeCloseTo(js.history[i]!.trainLoss, 4);
      expect(h.validationLoss).toBeCloseTo(js.history[i]!.validationLoss, 4);
    });
    simd.weights.forEach((array, i) => expect(relativeDifference(array, js.weights[i]!)).toBeLessThan(1e-3));
  });

  it.each(['wasm-simd', 'js'] as const)(
    '%s: two threads give bit-identical weights to one',
    async (kernel) => {
      const one = await trainWith(kernel, 1);
      const two = await trainWith(kernel, 2);
      expect(two.impl).toBe(kernel);
      expect(two.weights).toEqual(one.weights);
      expect(two.history).toEqual(one.history);
    },
  );

  it('falls back to the JS kernel, saying why, where the SIMD kernel cannot run the network', () => {
    const layout = mlpLayout([1000, 512, 1]);
    expect(chooseMlpKernel(layout)).toEqual({ impl: 'wasm-simd' });
    expect(chooseMlpKernel(layout, 'js')).toEqual({ impl: 'js' });
    const small = chooseMlpKernel(layout, 'wasm-simd', 1 << 20);
    expect(small.impl).toBe('js');
    expect(small.fallback).toMatch(/would take \d+ bytes of WebAssembly memory, over 1048576/);
  });
});
