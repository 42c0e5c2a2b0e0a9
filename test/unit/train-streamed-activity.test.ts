import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import type { TrainingHeartbeat } from '../../activities/train/checkpoint.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import { readModelManifest } from '../../lib/model/model-artifact.js';
import { trainModelStep, type TrainModelOutput } from '../../activities/train/train-model.js';
import type { JsonObject } from '../../pipelines/json.js';
import type { StepInput } from '../../pipelines/step.js';
import { dataDir } from '../support/paths.js';

/**
 * The `trainModel` activity (on its training thread, with checkpoints in the artifact store and
 * heartbeats) over a split larger than `trainer.memory`: 5,000 flights from a Parquet file, read in
 * six chunks an epoch (docs/training.md, "Memory").
 */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-streamed-activity-'));
  const json = join(dataDir, 'flights-5k.json');
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * REPLACE (strptime(date, '%Y/%m/%d %H:%M') AS date) FROM read_json_auto(${sqlString(json)})) TO ${sqlString(join(dir, 'flights.parquet'))} (FORMAT parquet)`,
    ),
  );
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const trainer = {
  model: 'logistic',
  epochs: 4,
  batchSize: 64,
  memory: '160KiB',
  earlyStopping: { patience: 10 },
};

function input(overrides: JsonObject = {}): StepInput {
  return {
    run: { pipeline: 'p', workflowId: 'wf', runId: 'run', trigger: 'manual' },
    step: 'train',
    params: {
      source: join(dir, 'flights.parquet'),
      features: {
        numeric: ['distance', { name: 'hour', sql: 'hour(date)' }],
        categorical: ['origin', 'destination'],
      },
      label: { sql: 'delay > 15', task: 'binary' },
      split: { kind: 'hash', key: 'date::VARCHAR || origin || destination' },
      trainer,
      ...overrides,
    },
    runParams: {},
    inputs: {},
  };
}

function train(env: MockActivityEnvironment, home: string, step: StepInput): Promise<TrainModelOutput> {
  return env.run(() => trainModelStep({ home, dataRoots: [dir] }, step));
}

describe('trainModel activity over trainer.memory', { timeout: 90_000 }, () => {
  it('streams, checkpoints and heartbeats every epoch; a retry given the last heartbeat resumes and ends identical', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sluice-train-'));
    const first = new MockActivityEnvironment();
    const beats: TrainingHeartbeat[] = [];
    let heartbeats = 0;
    first.on('heartbeat', (details: TrainingHeartbeat | undefined) => {
      heartbeats++;
      if (details && beats.at(-1)?.epoch !== details.epoch) beats.push(details);
    });
    const whole = await train(first, home, input());
    expect(beats.map((b) => b.epoch)).toEqual([1, 2, 3, 4]);
    expect(heartbeats).toBeGreaterThan(beats.length);
    const store = createArtifactStore(home);
    const manifest = await readModelManifest(store, whole.model);
    expect(manifest.metadata.training.streamed).toEqual({ chunks: 6, budgetBytes: 160 * 1024 });

    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beats[1] });
    const resumed = await train(retry, home, input());
    expect(resumed.resumedFromEpoch).toBe(2);
    expect(resumed.model).toEqual(whole.model);
  });

  it('refuses an unusable budget before reading data, naming the field', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sluice-train-'));
    await expect(
      train(new MockActivityEnvironment(), home, input({ trainer: { ...trainer, memory: 'plenty' } })),
    ).rejects.toThrow(/trainer\.memory: expected a size such as '512MiB'/);
  });
});
