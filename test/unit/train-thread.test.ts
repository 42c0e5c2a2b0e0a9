import { describe, expect, it } from 'vitest';
import { trainOnDataset, type TrainJob } from '../../activities/train/train-core.js';
import { trainInThread } from '../../activities/train/train-thread.js';
import type { LoopCheckpoint } from '../../activities/train/training-loop.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import { labelSchema, type TrainerConfig } from '../../pipelines/train-spec.js';
import { penguinJob as sharedPenguinJob } from '../support/penguin-job.js';

const gentoo = labelSchema.parse({ sql: `Species = 'Gentoo'`, task: 'binary' });

function penguinJob(trainer: TrainerConfig, label: object = gentoo): TrainJob {
  return sharedPenguinJob(trainer, label);
}

describe('training on a worker thread', () => {
  it.each<[string, TrainerConfig]>([
    ['logistic (typed-array)', { model: 'logistic', epochs: 5, seed: 3 }],
    ['MLP (TF.js)', { model: 'mlp', layers: [8], epochs: 3, batchSize: 16, seed: 3 }],
    ['GBDT', { model: 'gbdt', rounds: 12, minDataInLeaf: 5, minDataPerCategory: 5, checkpointEvery: 4 }],
  ])('%s: the same model as training in-process, with every checkpoint handed back', async (_, trainer) => {
    const job = penguinJob(trainer);
    const epochs: number[] = [];
    const rounds: number[] = [];
    const threaded = await trainInThread(job, {
      onEpoch: (_job, checkpoint) => Promise.resolve(void epochs.push(checkpoint.epoch)),
      onRounds: (_job, checkpoint) => Promise.resolve(void rounds.push(checkpoint.round)),
    });
    const local = await trainOnDataset(job);
    expect(threaded.metadata).toEqual(local.metadata);
    expect(threaded.transform).toEqual(local.transform);
    if (local.files) {
      expect(Buffer.from(threaded.files!.weightData).equals(Buffer.from(local.files.weightData))).toBe(true);
      expect(epochs).toEqual(local.result.history.map((h) => h.epoch));
    } else {
      expect(threaded.forest).toEqual(local.forest);
      expect(rounds.length).toBeGreaterThan(0);
    }
  });

  it('resumes from a checkpoint the calling thread supplies, ending with the same weights', async () => {
    const job = penguinJob({ model: 'logistic', epochs: 6, seed: 4, earlyStopping: { patience: 6 } });
    const saved: LoopCheckpoint[] = [];
    const whole = await trainInThread(job, {
      onEpoch: (_job, checkpoint) => Promise.resolve(void saved.push(checkpoint)),
    });
    const resumed = await trainInThread(job, {
      resume: (jobId) => Promise.resolve(jobId === whole.job ? saved[2] : undefined),
    });
    expect(resumed.result.resumedFrom).toBe(3);
    expect(Buffer.from(resumed.files!.weightData).equals(Buffer.from(whole.files!.weightData))).toBe(true);
  });

  it('an error in the thread arrives as the same class with the same message', async () => {
    const regression = labelSchema.parse({ column: 'Body Mass (g)', task: 'regression' });
    const error = await trainInThread(penguinJob({ model: 'logistic' }, regression)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/trainer "logistic" cannot learn a regression label/);
  });

  it('an error in a hook stops training and arrives as thrown', async () => {
    const job = penguinJob({ model: 'logistic', epochs: 5 });
    const error = await trainInThread(job, {
      onEpoch: () => Promise.reject(new Error('the artifact store is full')),
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('the artifact store is full');
  });

  it('aborting stops the thread and rejects with the reason', async () => {
    const controller = new AbortController();
    const job = penguinJob({
      model: 'mlp',
      layers: [8],
      epochs: 500,
      batchSize: 2,
      earlyStopping: { patience: 500 },
    });
    const error = await trainInThread(job, {
      signal: controller.signal,
      onEpoch: (_job, checkpoint) => {
        if (checkpoint.epoch === 1) controller.abort(new Error('cancelled by dana'));
        return Promise.resolve();
      },
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('cancelled by dana');
  });
});
