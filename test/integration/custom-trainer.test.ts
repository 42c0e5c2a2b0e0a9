import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadMatrix } from '../../activities/train/load-matrix.js';
import { sqlIdent } from '../../activities/train/source.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { sqlString, withDuckDB } from '../../lib/duckdb.js';
import {
  loadNetwork,
  loadScoringModel,
  predictBatched,
  readModelManifest,
} from '../../lib/model/model-artifact.js';
import type { ArtifactRef } from '../../pipelines/artifact.js';
import type { JsonValue } from '../../pipelines/json.js';
import type { ModelRef } from '../../pipelines/model.js';
import type { DagStatus } from '../../workflows/index.js';
import { sluice, startSluice, type LiveSluice } from '../support/cli.js';
import { dataDir, freePort } from '../support/paths.js';
import { testConfig } from '../support/worker.js';
import { lifecycleRoles } from './fixtures/lifecycle.js';

/**
 * A trainer of your own (`defineTrainer`, examples/steps/logistic-trainer.ts) through the whole
 * lifecycle on a real Temporal server, everything started as a user would with the CLI: the worker
 * loads the trainer with --steps, the run evaluates, writes the card and waits for sign-off, the
 * approved model is registered, and `sluice serve` answers what batch evaluation computes.
 */
const trainerModule = 'examples/steps/logistic-trainer.ts';
const badModule = 'test/fixtures/steps/bad-trainer.ts';

let env: Record<string, string>;
let home: string;
let port: number;
let worker: LiveSluice | undefined;
let serve: LiveSluice | undefined;

beforeAll(async () => {
  port = await freePort();
  const made = await testConfig({ SLUICE_LOG_LEVEL: 'info', SLUICE_SERVE_PORT: String(port) });
  env = made.env;
  home = made.config.home;
  await writeFile(join(home, 'roles.json'), JSON.stringify({ roles: lifecycleRoles }));
  worker = startSluice(['worker', '--steps', trainerModule, '--steps', badModule], env);
  await worker.waitFor(/worker started/, 240_000);
}, 300_000);

afterAll(async () => {
  await serve?.stop('SIGTERM');
  await worker?.stop('SIGINT');
});

async function status(runId: string): Promise<DagStatus> {
  const result = await sluice(['status', runId, '--json'], env);
  return (JSON.parse(result.stdout) as { status: DagStatus }).status;
}

/** Poll until the run waits for sign-off, a step failed, or it ended. */
async function settle(runId: string, done: (s: DagStatus) => boolean): Promise<DagStatus> {
  let current = await status(runId);
  while (current.state === 'running' && !done(current) && !current.steps.some((s) => s.state === 'failed')) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    current = await status(runId);
  }
  return current;
}

async function start(file: string, module: string): Promise<string> {
  const started = await sluice(['run', file, '--steps', module, '--json'], env);
  expect(started.stderr).not.toMatch(/^sluice:/m);
  return (JSON.parse(started.stdout) as { workflowId: string }).workflowId;
}

describe('mlLifecycle with a trainer of your own', () => {
  it('evaluates, carries the trainer onto the card, registers after sign-off, and serves what batch scoring gives', async () => {
    const model = 'delays-own-trainer';
    const runId = await start('examples/steps/delays.pipeline.ts', trainerModule);
    let current = await settle(runId, (s) => s.approvals.some((gate) => gate.state === 'awaiting'));
    const step = (id: string) => current.steps.find((s) => s.id === id)!;
    expect(step('train')).toMatchObject({
      activity: 'plainLogistic',
      state: 'succeeded',
      output: { engine: 'custom', task: 'binary', trainer: { name: 'plainLogistic', module: trainerModule } },
    });
    expect(step('evaluate').state).toBe('succeeded');
    expect(current.approvals.map((gate) => gate.state)).toEqual(['awaiting']);

    const store = createArtifactStore(home);
    const card = (await store.readJson<JsonValue>((step('card').output as { json: ArtifactRef }).json)) as {
      model: { description: string; engine: string; hyperparameters: object };
    };
    expect(card.model.engine).toBe('custom (plainLogistic)');
    expect(card.model.description).toContain(
      `a logistic regression fitted by your trainer “plainLogistic” (${trainerModule})`,
    );
    expect(card.model.hyperparameters).toMatchObject({ trainer: 'plainLogistic', iterations: 150, seed: 1 });

    const approved = await sluice(['approve', runId, '--as', 'rita'], env);
    expect(approved.code).toBe(0);
    current = await settle(runId, () => false);
    expect(current.state).toBe('succeeded');
    expect(step('register').state).toBe('succeeded');

    const modelRef = (step('train').output as { model: ModelRef }).model;
    const manifest = await readModelManifest(store, modelRef);
    expect(manifest.metadata).toMatchObject({
      engine: 'custom',
      model: 'logistic',
      trainer: {
        name: 'plainLogistic',
        module: trainerModule,
        params: { iterations: 150, learningRate: 0.5 },
      },
    });
    expect(manifest.metadata.trainer?.codeSha256).toMatch(/^[0-9a-f]{64}$/);
    const models = await sluice(['models', model], env);
    expect(models.stdout).toMatch(new RegExp(`^model ${model}: 1 version\\(s\\)`));

    const promoted = await sluice(
      ['promote', model, '1', '--as', 'rita', '--reason', 'own trainer signed off', '--approved-run', runId],
      env,
    );
    expect(promoted.stderr).toBe('');
    serve = startSluice(['serve', '--model', model, '--poll', '0'], env);
    await serve.waitFor(/"msg":"serving"/, 120_000);

    // Batch: five rows of the source through the model's own DuckDB transform, scored as evaluation does.
    const { expected, instances } = await withDuckDB(async (db) => {
      await db.run(
        `CREATE TABLE sample AS SELECT date, delay, distance, origin, destination FROM read_parquet(${sqlString(join(dataDir, 'flights-3m.parquet'))}) WHERE hash(date, origin, destination) % 100 = 0 LIMIT 5`,
      );
      const matrix = await loadMatrix(db, manifest.transform, 'sample');
      const tf = await import('@tensorflow/tfjs');
      const scoring = await loadScoringModel(store, modelRef, async (m) => {
        const network = await loadNetwork(tf, store, m);
        return {
          predict: (x, n) => predictBatched(tf, network, x, n, m.metadata.inputs.length),
          dispose: () => network.dispose(),
        };
      });
      const scores = Array.from(scoring.predict(matrix.x, matrix.rows));
      scoring.dispose();
      const raw = await db.runAndReadAll(
        `SELECT CAST(date AS VARCHAR) AS date, CAST(distance AS DOUBLE) AS distance, ${sqlIdent('origin')} FROM sample`,
      );
      return { expected: scores, instances: raw.getRowObjectsJS() };
    });
    const response = await fetch(`http://127.0.0.1:${port}/v1/models/${model}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      version: number;
      predictions: { probabilities: Record<string, number> }[];
    };
    expect(body.version).toBe(1);
    const served = body.predictions.map((p) => p.probabilities['1']);
    expect(served).toHaveLength(5);
    served.forEach((p, i) => expect(p).toBeCloseTo(expected[i]!, 6));
    expect(new Set(served.map((p) => p?.toFixed(6))).size).toBeGreaterThan(1);
  }, 600_000);

  it('a trainer that returns the wrong number of weights fails the train step, naming it and the fix; nothing is registered', async () => {
    const runId = await start('test/integration/fixtures/bad-trainer.pipeline.ts', badModule);
    const current = await settle(runId, () => false);
    const train = current.steps.find((s) => s.id === 'train')!;
    expect(train).toMatchObject({ activity: 'shortWeights', state: 'failed' });
    expect(train.error?.type).toBe('InvalidInputError');
    expect(train.error?.message).toMatch(
      /^step "train" of \S*bad-trainer\.pipeline\.ts: trainer "shortWeights" \(from test\/fixtures\/steps\/bad-trainer\.ts\) returned a model whose weights has 22 numbers, but the data has 23 input columns and the label 1 output, so it needs 23: return one weight per input column \(ctx\.width = 23\); nothing was stored or registered/,
    );
    expect(current.state).toBe('failed');
    for (const id of ['evaluate', 'card', 'register']) {
      expect(current.steps.find((s) => s.id === id)?.state).not.toBe('succeeded');
    }
    const models = JSON.parse((await sluice(['models', '--json'], env)).stdout) as {
      models: { model: string }[];
    };
    expect(models.models.map((m) => m.model)).not.toContain('bad-trainer');
  }, 300_000);
});
