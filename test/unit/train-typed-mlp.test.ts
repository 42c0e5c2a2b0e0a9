import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { selectTfBackend } from '../../activities/tf-backend.js';
import { denseArrays, initDense } from '../../activities/train/dense-params.js';
import { createTfjsDenseTrainer } from '../../activities/train/tfjs-dense.js';
import type { OutputKind, TrainerOptions, TrainingData } from '../../activities/train/trainer.js';
import { runTrainingLoop } from '../../activities/train/training-loop.js';
import { createMlpKernel } from '../../activities/train/typed-mlp-kernel.js';
import { mlpLayout, flattenInto } from '../../activities/train/typed-mlp-layout.js';
import { createTypedMlpTrainer, csrOf, helperThreadOf } from '../../activities/train/typed-mlp.js';
import { trainOnDataset } from '../../activities/train/train-core.js';
import type { LoopCheckpoint } from '../../activities/train/training-loop.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { loadModelVersion } from '../../lib/model/loaded-model.js';
import { modelBody, saveModel } from '../../lib/model/model-artifact.js';
import { mulberry32 } from '../../pipelines/prng.js';
import type { ModelVersion } from '../../pipelines/registry.js';
import type { TrainerConfig } from '../../pipelines/train-spec.js';
import { penguinJob } from '../support/penguin-job.js';

/**
 * Rows like an encoded table: two numeric inputs, then one-hot groups of 4 and 6 (mostly zeros), with
 * row weights. The label is an interaction a hidden layer can learn and a linear model cannot.
 */
function encoded(rows: number, output: OutputKind, seed: number): TrainingData {
  const random = mulberry32(seed);
  const groups = [4, 6];
  const width = 2 + groups.reduce((a, b) => a + b, 0);
  const x = new Float32Array(rows * width);
  const y = new Float32Array(rows);
  const w = new Float32Array(rows);
  const classOf = (v: number) => (v > 0.5 ? 2 : v > -0.5 ? 1 : 0);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * width, (r + 1) * width);
    row.set([random() * 2 - 1, random() < 0.3 ? 0 : random()]);
    let offset = 2;
    for (const size of groups) {
      row[offset + Math.floor(random() * size)] = 1;
      offset += size;
    }
    const v = 3 * row[0]! * (row[3]! - 0.5) + row[7]!;
    if (output === 'softmax') y[r] = classOf(v);
    else if (output === 'linear') y[r] = v + (random() - 0.5) * 0.2;
    else y[r] = random() < 1 / (1 + Math.exp(-2 * v)) ? 1 : 0;
    w[r] = y[r] === 1 ? 2 : 1;
  }
  return { x, y, w, rows, width };
}

const unitsOf = { sigmoid: 1, softmax: 3, linear: 1 } as const;

function options(output: OutputKind, overrides: Partial<TrainerOptions> = {}): TrainerOptions {
  return { output, learningRate: 0.01, l2: 0.001, dropout: 0, activation: 'relu', ...overrides };
}

describe('typed-array MLP kernel', () => {
  it.each<[OutputKind, 'relu' | 'tanh', number]>([
    ['sigmoid', 'tanh', 0],
    ['softmax', 'relu', 0],
    ['linear', 'tanh', 0.3],
  ])('%s, %s, dropout %s: gradients match numeric differentiation', (output, activation, dropout) => {
    const data = encoded(12, output, 3);
    const sizes = [data.width, 5, 4, unitsOf[output]];
    const layout = mlpLayout(sizes);
    const params = new Float32Array(layout.total);
    flattenInto(layout, denseArrays(initDense(sizes, mulberry32(4))), params);
    for (let i = 0; i < params.length; i++) params[i] = (params[i] as number) + 0.05; // non-zero biases
    const kernel = createMlpKernel(layout, { output, activation, dropout });
    const batch = {
      csr: csrOf(data.x, data.rows, data.width),
      y: data.y,
      w: data.w,
      rows: Int32Array.from({ length: data.rows }, (_, i) => i),
      start: 0,
      size: data.rows,
      dropoutSeed: 99,
    };
    const grad = new Float64Array(layout.total);
    kernel.gradient(params, grad, batch, 0, data.rows);
    const scratch = new Float64Array(layout.total);
    const lossAt = (i: number, value: number) => {
      const saved = params[i] as number;
      params[i] = value;
      const loss = kernel.gradient(params, scratch, batch, 0, data.rows);
      params[i] = saved;
      return loss;
    };
    let checked = 0;
    for (let i = 0; i < layout.total; i++) {
      const p = params[i] as number;
      // Float32 parameters: a step float32 can represent exactly, and a central difference.
      const h = Math.fround(p + 1e-3) - p;
      const numeric = (lossAt(i, p + h) - lossAt(i, p - h)) / (2 * h);
      expect(grad[i]).toBeCloseTo(numeric, 2);
      if (Math.abs(numeric) > 1e-3) checked++;
    }
    expect(checked).toBeGreaterThan(layout.total / 4);
  });

  it('one step gives the weights the TF.js trainer gives, dropout masks included', async () => {
    await selectTfBackend();
    const data = encoded(64, 'softmax', 5);
    const initial = initDense([data.width, 8, 6, 3], mulberry32(6));
    const opts = options('softmax', { dropout: 0.25 });
    const typed = createTypedMlpTrainer(initial, opts);
    const tfjs = createTfjsDenseTrainer(tf, initial, opts);
    const lossTyped = typed.step(data.x, data.y, data.w, data.rows, 1234);
    const lossTfjs = tfjs.step(data.x, data.y, data.w, data.rows, 1234);
    expect(lossTyped).toBeCloseTo(lossTfjs, 3);
    const a = denseArrays(typed.state().params);
    const b = denseArrays(tfjs.state().params);
    a.forEach((array, i) => array.forEach((value, j) => expect(value).toBeCloseTo(b[i]![j]!, 5)));
    // A different dropout seed draws other masks: other weights.
    const other = createTypedMlpTrainer(initial, opts);
    other.step(data.x, data.y, data.w, data.rows, 1235);
    expect(denseArrays(other.state().params)).not.toEqual(a);
    tfjs.dispose();
  });
});

describe('typed-array MLP trainer', () => {
  const train = encoded(3000, 'sigmoid', 7);
  const validation = encoded(600, 'sigmoid', 8);
  const loop = { epochs: 6, batchSize: 64, seed: 11, output: 'sigmoid' as const };
  const earlyStopping = { patience: 10, minDelta: 0 };

  it('learns what a linear model cannot: the loss falls well below the linear fit', async () => {
    const fit = async (hidden: number[]) => {
      const trainer = createTypedMlpTrainer(
        initDense([train.width, ...hidden, 1], mulberry32(1)),
        options('sigmoid', { learningRate: 0.02, dropout: 0.1 }),
      );
      const result = await runTrainingLoop(trainer, train, validation, {
        ...loop,
        epochs: 15,
        earlyStopping,
      });
      return result.history;
    };
    const mlp = await fit([16, 8]);
    const linear = await fit([]);
    expect(mlp.at(-1)!.trainLoss).toBeLessThan(mlp[0]!.trainLoss * 0.8);
    expect(mlp.at(-1)!.validationLoss).toBeLessThan(linear.at(-1)!.validationLoss - 0.02);
  });

  it('same seed, same weights; reading rows in place gives exactly what copied batches give', async () => {
    const run = async (seed: number, copying: boolean) => {
      const trainer = createTypedMlpTrainer(
        initDense([train.width, 8, 4, 1], mulberry32(2)),
        options('sigmoid', { dropout: 0.2 }),
      );
      const view = copying
        ? {
            engine: trainer.engine,
            step: trainer.step.bind(trainer),
            logits: trainer.logits.bind(trainer),
            state: trainer.state.bind(trainer),
            restore: trainer.restore.bind(trainer),
            dispose: trainer.dispose.bind(trainer),
          }
        : trainer;
      const result = await runTrainingLoop(view, train, validation, { ...loop, seed, earlyStopping });
      return { weights: denseArrays(result.params), history: result.history.map(({ ms: _, ...h }) => h) };
    };
    const a = await run(11, false);
    const b = await run(11, false);
    const copied = await run(11, true);
    const other = await run(12, false);
    expect(b.weights).toEqual(a.weights);
    expect(copied.weights).toEqual(a.weights);
    expect(copied.history).toEqual(a.history);
    expect(other.weights).not.toEqual(a.weights);
  });
});

describe('typed-array MLP on two threads', () => {
  const train = encoded(6000, 'softmax', 9);
  const validation = encoded(600, 'softmax', 10);
  const loop = {
    epochs: 3,
    batchSize: 100,
    seed: 5,
    output: 'softmax' as const,
    earlyStopping: { patience: 10, minDelta: 0 },
  };
  const initial = initDense([train.width, 16, 8, 3], mulberry32(3));

  it('gives bit-identical weights and history to one thread', async () => {
    const run = async (threads: 1 | 2) => {
      const trainer = createTypedMlpTrainer(initial, { ...options('softmax', { dropout: 0.2 }), threads });
      try {
        const result = await runTrainingLoop(trainer, train, validation, loop);
        return { weights: denseArrays(result.params), history: result.history.map(({ ms: _, ...h }) => h) };
      } finally {
        trainer.dispose();
      }
    };
    const one = await run(1);
    const two = await run(2);
    expect(two.weights).toEqual(one.weights);
    expect(two.history).toEqual(one.history);
  });

  it('fails the step with a clear error, instead of hanging, when the second thread dies', async () => {
    const trainer = createTypedMlpTrainer(initial, {
      ...options('softmax'),
      threads: 2,
      where: 'step "train" of pipelines/test.pipeline.ts',
    });
    try {
      const failed = await runTrainingLoop(trainer, train, validation, {
        ...loop,
        onEpoch: async (checkpoint) => {
          if (checkpoint.epoch === 1) await helperThreadOf(trainer)!.terminate();
        },
      }).catch((error: unknown) => error as Error);
      expect((failed as Error).message).toMatch(
        /^step "train" of pipelines\/test.pipeline.ts: batch \d+: the typed-array MLP trainer's second thread exited/,
      );
    } finally {
      trainer.dispose();
    }
  });
});

describe('typed-array MLP in a pipeline', () => {
  const penguins = (trainer: TrainerConfig) => penguinJob(trainer);
  const mlp: TrainerConfig = { model: 'mlp', layers: [16, 8], epochs: 12, batchSize: 16, learningRate: 0.02 };

  it('trains as well as TF.js, and serving loads the stored model and predicts what the trainer computes', async () => {
    const typed = await trainOnDataset(penguins({ ...mlp, engine: 'typed-array' }));
    const tfjs = await trainOnDataset(penguins({ ...mlp, engine: 'tfjs' }));
    expect(typed.metadata.engine).toBe('typed-array');
    expect(typed.metadata.metrics.validationLoss).toBeLessThan(0.2); // log(3) ≈ 1.10 at chance
    // Same loss, Adam, initial weights and dropout: the engines differ only in float rounding.
    expect(typed.metadata.metrics.validationLoss).toBeCloseTo(tfjs.metadata.metrics.validationLoss, 3);

    const home = await mkdtemp(join(tmpdir(), 'sluice-typed-mlp-'));
    try {
      const store = createArtifactStore(home);
      const ref = await saveModel(store, modelBody(typed), typed.transform, typed.metadata);
      const version = {
        version: 1,
        model: { uri: ref.uri, sha256: ref.sha256, format: 'json', bytes: ref.bytes },
      } as unknown as ModelVersion;
      const served = await loadModelVersion(tf, store, 'penguins', version);
      const rows = [
        {
          'Beak Length (mm)': 39,
          'Beak Depth (mm)': 18.7,
          'Flipper Length (mm)': 181,
          'Body Mass (g)': 3750,
          Island: 'Torgersen',
          Sex: 'MALE',
        },
        {
          'Beak Length (mm)': 47,
          'Beak Depth (mm)': 14.5,
          'Flipper Length (mm)': 215,
          'Body Mass (g)': 5000,
          Island: 'Biscoe',
          Sex: 'FEMALE',
        },
        {
          'Beak Length (mm)': 50,
          'Beak Depth (mm)': 19,
          'Flipper Length (mm)': 196,
          'Body Mass (g)': 3900,
          Island: 'Dream',
          Sex: 'MALE',
        },
      ];
      const predicted = served.predict(rows) as number[][];
      // The trainer's own forward pass over the stored weights (kernel, bias, … in weightData).
      const sizes = [served.inputWidth, 16, 8, 3];
      const weights = new Float32Array(typed.files!.weightData.slice().buffer);
      const arrays: Float32Array[] = [];
      for (let l = 0, at = 0; l + 1 < sizes.length; l++) {
        for (const n of [sizes[l]! * sizes[l + 1]!, sizes[l + 1]!]) {
          arrays.push(weights.slice(at, at + n));
          at += n;
        }
      }
      const params = {
        sizes,
        kernels: arrays.filter((_, i) => i % 2 === 0),
        biases: arrays.filter((_, i) => i % 2 === 1),
      };
      const logits = createTypedMlpTrainer(params, options('softmax')).logits(
        served.matrix(rows),
        rows.length,
      );
      predicted.forEach((probabilities, i) => {
        const z = Array.from(logits.subarray(i * 3, i * 3 + 3));
        const max = Math.max(...z);
        const sum = z.reduce((a, v) => a + Math.exp(v - max), 0);
        probabilities.forEach((p, k) => expect(p).toBeCloseTo(Math.exp(z[k]! - max) / sum, 5));
      });
      expect(predicted.map((p) => p.indexOf(Math.max(...p)))).toEqual([0, 2, 1]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('resumes a TF.js checkpoint: both engines keep the same state', async () => {
    const trainer: TrainerConfig = { ...mlp, epochs: 4, dropout: 0.2, earlyStopping: { patience: 10 } };
    const saved: LoopCheckpoint[] = [];
    await trainOnDataset(penguins({ ...trainer, engine: 'tfjs', epochs: 2 }), {
      onEpoch: (_, checkpoint) => Promise.resolve(void saved.push(checkpoint)),
    });
    const resumed = await trainOnDataset(penguins({ ...trainer, engine: 'typed-array' }), {
      resume: () => Promise.resolve(saved[1]),
    });
    const tfjsOnly = await trainOnDataset(penguins({ ...trainer, engine: 'tfjs' }));
    expect(resumed.result.resumedFrom).toBe(2);
    expect(resumed.result.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(resumed.metadata.metrics.validationLoss).toBeCloseTo(tfjsOnly.metadata.metrics.validationLoss, 3);
  });
});
