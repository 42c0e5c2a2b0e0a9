import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import type { TrainingHeartbeat } from '../../activities/train/checkpoint.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { evaluateModelStep } from '../../activities/evaluate/evaluate-model.js';
import { readModelManifest } from '../../lib/model/model-artifact.js';
import { trainModelStep, type TrainModelOutput } from '../../activities/train/train-model.js';
import { InvalidInputError } from '../../pipelines/errors.js';
import type { JsonObject } from '../../pipelines/json.js';
import type { StepInput } from '../../pipelines/step.js';
import { dataDir, projectRoot } from '../support/paths.js';

const params = {
  source: join(dataDir, 'penguins.json'),
  features: { numeric: ['Beak Length (mm)', 'Flipper Length (mm)'], categorical: ['Island'] },
  label: { column: 'Species', task: 'multiclass' },
  split: { kind: 'hash', key: `concat_ws('|', Species, Island, "Beak Length (mm)", "Body Mass (g)")` },
  trainer: { model: 'mlp', layers: [8], epochs: 5, batchSize: 8, earlyStopping: { patience: 10 } },
};

function input(overrides: JsonObject = {}): StepInput {
  return {
    run: { pipeline: 'p', workflowId: 'wf', runId: 'run', trigger: 'manual' },
    step: 'train',
    params: { ...params, ...overrides },
    runParams: {},
    inputs: {},
  };
}

/** Run the activity in a mock Temporal context (heartbeats, cancellation, attempt info). */
function train(env: MockActivityEnvironment, home: string, step: StepInput): Promise<TrainModelOutput> {
  return env.run(() => trainModelStep({ home, dataRoots: [projectRoot] }, step));
}

describe('trainModel activity', () => {
  it('checkpoints and heartbeats every epoch; a retry given the last heartbeat resumes and ends identical', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sluice-train-'));
    const first = new MockActivityEnvironment();
    const beats: TrainingHeartbeat[] = [];
    first.on('heartbeat', (details: TrainingHeartbeat | undefined) => {
      if (details && beats.at(-1)?.epoch !== details.epoch) beats.push(details);
    });
    const whole = await train(first, home, input());
    expect(beats.map((b) => b.epoch)).toEqual([1, 2, 3, 4, 5]);
    const store = createArtifactStore(home);
    for (const beat of beats) expect(await store.has(beat.checkpoint)).toBe(true);
    expect(whole.resumedFromEpoch).toBeNull();
    expect(whole.model.kind).toBe('model');
    expect(whole.rows.train).toBeGreaterThan(200);

    const retry = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beats[1] });
    const resumed = await train(retry, home, input());
    expect(resumed.resumedFromEpoch).toBe(2);
    const [a, b] = [await store.readJson(whole.model), await store.readJson(resumed.model)];
    expect(b).toEqual(a);
    expect(resumed.model).toEqual(whole.model);

    // A heartbeat from a different job (other hyperparameters) is not applied: training starts over.
    const other = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: beats[1] });
    const fresh = await train(other, home, input({ trainer: { ...params.trainer, seed: 9 } }));
    expect(fresh.resumedFromEpoch).toBeNull();
  });

  it('stops promptly on cancellation', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sluice-train-'));
    const env = new MockActivityEnvironment();
    env.on('heartbeat', (details: TrainingHeartbeat | undefined) => {
      if (details?.epoch === 1) env.cancel();
    });
    const started = performance.now();
    const long = { ...params.trainer, epochs: 400, batchSize: 2, earlyStopping: { patience: 400 } };
    const error = await env
      .run(trainModelStep, { home, dataRoots: [projectRoot] }, input({ trainer: long }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CancelledFailure);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('lists every zod issue of bad params, before reading any data', async () => {
    const env = new MockActivityEnvironment();
    const error = await env
      .run(
        trainModelStep,
        { home: tmpdir(), dataRoots: [projectRoot] },
        input({ trainer: { model: 'forest', learningrate: 1 }, split: { kind: 'random' } }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as Error).message).toMatch(/^step "train" params are invalid: /);
    expect((error as Error).message).toMatch(/split\.kind/);
    expect((error as Error).message).toMatch(/trainer\.model/);
    expect((error as Error).message).toMatch(/learningrate/);
  });

  it('trains on a dataset from the artifact store (an ingest step’s { dataset }) and evaluates it from there', async () => {
    const home = await mkdtemp(join(tmpdir(), 'sluice-train-'));
    const store = createArtifactStore(home);
    const staged = join(home, 'penguins.parquet');
    await withDuckDB((db) =>
      db.run(
        `COPY (SELECT * FROM read_json_auto('${join(dataDir, 'penguins.json')}')) TO '${staged}' (FORMAT parquet)`,
      ),
    );
    const dataset = await store.putFile(staged, { kind: 'dataset', format: 'parquet' });
    const { source: _, ...withoutSource } = params;
    const trained = await train(new MockActivityEnvironment(), home, {
      ...input(),
      params: { ...withoutSource, trainer: { ...params.trainer, epochs: 2 } },
      inputs: { ingest: { dataset: dataset as unknown as JsonObject } },
    });
    const manifest = await readModelManifest(store, trained.model);
    expect(manifest.metadata.data.dataset).toEqual({
      uri: dataset.uri,
      sha256: dataset.sha256,
      bytes: dataset.bytes,
    });
    const evaluated = await evaluateModelStep(
      { home, dataRoots: [projectRoot] },
      { ...input(), params: {}, inputs: { train: trained } },
    );
    expect(evaluated.rows).toBe(trained.rows.test);

    const none = await train(new MockActivityEnvironment(), home, {
      ...input(),
      params: withoutSource,
    }).catch((e: unknown) => e);
    expect((none as Error).message).toMatch(
      /step "train" needs data: give params.source, or depend on one step that outputs \{ dataset \}/,
    );
  });
});
