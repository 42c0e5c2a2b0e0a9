import { describe, expect, it } from 'vitest';
import { crossValidate } from '../../activities/train/cross-validate.js';
import { trainOnDataset, type TrainJob } from '../../activities/train/train-core.js';
import type { LoopCheckpoint } from '../../activities/train/training-loop.js';
import {
  type LabelSpec,
  labelSchema,
  splitSchema,
  trainerSchema,
  type TrainerConfig,
} from '../../pipelines/train-spec.js';
import { penguinJob as sharedPenguinJob } from '../support/penguin-job.js';

const penguinKey = `concat_ws('|', Species, Island, "Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)", Sex)`;

function penguinJob(
  trainer: TrainerConfig,
  label: object = labelSchema.parse({ column: 'Species', task: 'multiclass' }),
): TrainJob {
  return sharedPenguinJob(trainer, label, penguinKey);
}

const gentoo = labelSchema.parse({ sql: `Species = 'Gentoo'`, task: 'binary' });

describe('trainers', () => {
  const cases: [string, TrainerConfig, LabelSpec | undefined, string][] = [
    ['logistic, typed-array', { model: 'logistic', epochs: 4 }, gentoo, 'typed-array'],
    ['logistic, TF.js', { model: 'logistic', engine: 'tfjs', epochs: 4 }, gentoo, 'tfjs'],
    [
      'MLP with dropout, TF.js',
      { model: 'mlp', layers: [8, 4], dropout: 0.3, epochs: 4, batchSize: 16 },
      undefined,
      'tfjs',
    ],
    [
      'MLP with dropout, typed-array',
      { model: 'mlp', engine: 'typed-array', layers: [8, 4], dropout: 0.3, epochs: 4, batchSize: 16 },
      undefined,
      'typed-array',
    ],
  ];
  it.each(cases)(
    '%s: a rerun with the same seed gives bit-identical weights; another seed does not',
    async (_, trainer, label, engine) => {
      const run = (seed: number) => trainOnDataset(penguinJob({ ...trainer, seed }, label));
      const [a, b, c] = [await run(5), await run(5), await run(6)];
      expect(a.metadata.engine).toBe(engine);
      expect(a.metadata.backend.name).toBe('wasm');
      expect(Buffer.from(a.files!.weightData).equals(Buffer.from(b.files!.weightData))).toBe(true);
      expect(a.metadata).toEqual(b.metadata);
      expect(Buffer.from(a.files!.weightData).equals(Buffer.from(c.files!.weightData))).toBe(false);
    },
  );

  it('learns: softmax on penguins reaches a low validation loss, and both engines agree on a linear model', async () => {
    const typed = await trainOnDataset(
      penguinJob({ model: 'softmax', epochs: 15, batchSize: 32, learningRate: 0.05 }),
    );
    const tfjs = await trainOnDataset(
      penguinJob({ model: 'softmax', engine: 'tfjs', epochs: 15, batchSize: 32, learningRate: 0.05 }),
    );
    expect(typed.metadata.engine).toBe('typed-array');
    expect(tfjs.metadata.engine).toBe('tfjs');
    expect(typed.metadata.metrics.validationLoss).toBeLessThan(0.1); // log(3) ≈ 1.10 at chance
    // Same loss, same Adam, same initial weights: the two engines differ only in float rounding.
    expect(tfjs.metadata.metrics.validationLoss).toBeCloseTo(typed.metadata.metrics.validationLoss, 3);
    const history = typed.metadata.training.history;
    expect(history.at(-1)!.trainLoss).toBeLessThan(history[0]!.trainLoss);
  });

  it('resuming from a mid-run checkpoint ends with exactly the weights of an uninterrupted run', async () => {
    const trainer: TrainerConfig = {
      model: 'mlp',
      layers: [8],
      dropout: 0.2,
      epochs: 6,
      batchSize: 16,
      earlyStopping: { patience: 10 },
    };
    const saved: LoopCheckpoint[] = [];
    const whole = await trainOnDataset(penguinJob(trainer), {
      onEpoch: (_, checkpoint) => Promise.resolve(void saved.push(checkpoint)),
    });
    expect(saved.map((c) => c.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    let offeredTo = '';
    const resumed = await trainOnDataset(penguinJob(trainer), {
      resume: (job) => {
        offeredTo = job;
        return Promise.resolve(saved[2]);
      },
    });
    expect(offeredTo).toBe(whole.job);
    expect(resumed.result.resumedFrom).toBe(3);
    expect(resumed.result.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Buffer.from(resumed.files!.weightData).equals(Buffer.from(whole.files!.weightData))).toBe(true);
  });

  it('early stopping keeps the best epoch; class weights shift predictions towards the rare class', async () => {
    const stopped = await trainOnDataset(
      penguinJob({
        model: 'mlp',
        layers: [16],
        epochs: 200,
        learningRate: 0.05,
        batchSize: 8,
        earlyStopping: { patience: 2, minDelta: 0 },
      }),
    );
    expect(stopped.result.stoppedEarly).toBe(true);
    expect(stopped.result.epochsRun).toBe(stopped.result.bestEpoch + 2);
    const best = stopped.metadata.training.history.find((h) => h.epoch === stopped.result.bestEpoch)!;
    expect(Math.min(...stopped.metadata.training.history.map((h) => h.validationLoss))).toBe(
      best.validationLoss,
    );

    const plain = await trainOnDataset(penguinJob({ model: 'logistic', epochs: 3 }, gentoo));
    const weighted = await trainOnDataset(
      penguinJob({ model: 'logistic', epochs: 3, classWeight: { '1': 5 } }, gentoo),
    );
    const bias = (files: typeof plain.files) => new Float32Array(files!.weightData.slice().buffer).at(-1)!;
    expect(bias(weighted.files)).toBeGreaterThan(bias(plain.files));
  });

  it('stops promptly when cancelled, with the signal’s reason', async () => {
    const controller = new AbortController();
    const started = performance.now();
    let epochs = 0;
    const outcome = await trainOnDataset(
      penguinJob({ model: 'mlp', epochs: 500, batchSize: 4, earlyStopping: { patience: 500 } }),
      {
        signal: controller.signal,
        onEpoch: () => {
          epochs += 1;
          if (epochs === 2) controller.abort(new Error('cancelled by the test'));
          return Promise.resolve();
        },
      },
    ).catch((error: unknown) => error);
    expect((outcome as Error).message).toBe('cancelled by the test');
    expect(epochs).toBe(2);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('refuses an unknown trainer, an unknown hyperparameter and a trainer that does not fit the task', async () => {
    expect(trainerSchema.safeParse({ model: 'xgboost' }).success).toBe(false);
    const issues = trainerSchema.safeParse({ model: 'mlp', learningrate: 0.1 }).error?.issues ?? [];
    expect(issues.map((i) => i.message).join()).toMatch(/learningrate/);
    await expect(trainOnDataset(penguinJob({ model: 'logistic' }))).rejects.toThrow(
      /trainer "logistic" cannot learn a multiclass label: use softmax or mlp/,
    );
    await expect(
      trainOnDataset(penguinJob({ model: 'logistic', classWeight: { yes: 2 } }, gentoo)),
    ).rejects.toThrow(/classWeight names "yes", which is not a class: the classes are 0, 1/);
  });

  it('k-fold cross-validation trains once per fold; the folds partition the non-test rows', async () => {
    const job = {
      ...penguinJob({ model: 'softmax', epochs: 10, batchSize: 16, learningRate: 0.05 }),
      split: splitSchema.parse({ kind: 'kfold', key: penguinKey, k: 3, test: 0.2 }),
    };
    const cv = await crossValidate(job);
    expect(cv.folds.map((f) => f.fold)).toEqual([0, 1, 2]);
    const nonTest = cv.folds[0]!.rows.train + cv.folds[0]!.rows.validation;
    for (const f of cv.folds) expect(f.rows.train + f.rows.validation).toBe(nonTest);
    expect(cv.folds.reduce((sum, f) => sum + f.rows.validation, 0)).toBe(nonTest);
    expect(cv.mean).toBeLessThan(0.2);
    expect(cv.std).toBeGreaterThan(0);
    await expect(crossValidate(penguinJob({ model: 'softmax' }))).rejects.toThrow(
      /needs a "kfold" split, not "hash"/,
    );
  });

  it('leaves no tensors behind: every step, prediction and export releases what it allocates', async () => {
    const tf = await import('@tensorflow/tfjs');
    await trainOnDataset(penguinJob({ model: 'mlp', layers: [8], dropout: 0.2, epochs: 1 }));
    const before = tf.memory().numTensors;
    await trainOnDataset(penguinJob({ model: 'mlp', layers: [8], dropout: 0.2, epochs: 3, batchSize: 8 }));
    expect(tf.memory().numTensors).toBe(before);
  });
});
