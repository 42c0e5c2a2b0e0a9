import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { checkTrainedModel, forwardDense } from '../../activities/train/custom-model.js';
import { trainWithCustomTrainer } from '../../activities/train/custom-trainer.js';
import { selectTfBackend } from '../../activities/tf-backend.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import {
  loadNetwork,
  loadScoringModel,
  predictBatched,
  readModelManifest,
} from '../../lib/model/model-artifact.js';
import {
  defineTrainer,
  type TrainedModel,
  type TrainerContext,
  type TrainerDefinition,
} from '../../pipelines/define-trainer.js';
import type { JsonObject } from '../../pipelines/json.js';
import type { StepInput } from '../../pipelines/step.js';
import { projectRoot } from '../support/paths.js';

/**
 * The train step with a trainer of your own, without Temporal, on a real CSV: what `fit` is handed,
 * and that the stored model scores — as evaluation and serving load it — exactly what the weights
 * `fit` returned compute (row-major layout, softmax over classes, regression in the label's units).
 */
let home = '';
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-trainer-'));
  await selectTfBackend();
});
afterAll(async () => {
  if (home) await rm(home, { recursive: true, force: true });
});

const weather = 'node_modules/vega-datasets/data/seattle-weather.csv';
const silent = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

interface Seen {
  ctx?: TrainerContext<{ hidden: number }>;
  model?: TrainedModel;
}

/** A trainer returning seeded random dense weights (one hidden layer), recording what it saw. */
function randomDense(seen: Seen): TrainerDefinition {
  return defineTrainer({
    name: 'randomDense',
    params: z.strictObject({ hidden: z.number().int().min(1).default(4) }),
    fit(ctx) {
      seen.ctx = ctx;
      const draw = (n: number) => Array.from({ length: n }, () => ctx.random() - 0.5);
      const { hidden } = ctx.params;
      seen.model = {
        kind: 'dense',
        activation: 'tanh',
        layers: [
          { weights: draw(ctx.width * hidden), bias: draw(hidden) },
          { weights: draw(hidden * ctx.outputs), bias: draw(ctx.outputs) },
        ],
      };
      return seen.model;
    },
  });
}

function stepInput(label: JsonObject, params: JsonObject = {}): StepInput {
  return {
    run: { pipeline: 'weather', workflowId: 'w-1', runId: 'r-1', trigger: 'manual' },
    step: 'train',
    params: {
      source: weather,
      features: { numeric: ['precipitation', 'wind', { name: 'month', sql: 'month(date)' }] },
      label,
      split: { kind: 'hash', key: 'CAST(date AS VARCHAR)', seed: 3 },
      trainer: { name: 'randomDense', seed: 5 },
      params,
    },
    runParams: {},
    inputs: {},
  };
}

async function fitAndScore(definition: TrainerDefinition, input: StepInput) {
  const deps = { home, dataRoots: [projectRoot, home] };
  const hooks = { attempt: 1, heartbeat: () => undefined, log: silent, signal: new AbortController().signal };
  const output = await trainWithCustomTrainer(
    { definition, module: 'test/randomDense.ts', codeSha256: 'c'.repeat(64) },
    deps,
    input,
    hooks,
  );
  const store = createArtifactStore(home);
  const tf = await import('@tensorflow/tfjs');
  const scoring = await loadScoringModel(store, output.model, async (manifest) => {
    const network = await loadNetwork(tf, store, manifest);
    return {
      predict: (x, rows) => predictBatched(tf, network, x, rows, manifest.metadata.inputs.length),
      dispose: () => network.dispose(),
    };
  });
  return { output, scoring, manifest: await readModelManifest(store, output.model) };
}

describe('the train step with a trainer of your own', () => {
  it('hands fit the transformed splits and stores a multi-class model that scores like its weights', async () => {
    const seen: Seen = {};
    const { output, scoring, manifest } = await fitAndScore(
      randomDense(seen),
      stepInput({ column: 'weather', task: 'multiclass' }, { hidden: 3 }),
    );
    const ctx = seen.ctx!;
    expect(ctx.params).toEqual({ hidden: 3 });
    expect(ctx.label.classes).toEqual(['drizzle', 'fog', 'rain', 'snow', 'sun']);
    expect(ctx.outputs).toBe(5);
    expect(ctx.features).toEqual(['precipitation', 'wind', 'month']);
    expect(ctx.width).toBe(3);
    expect(ctx.train.x).toHaveLength(ctx.train.rows * 3);
    expect(ctx.train.rows + ctx.validation.rows).toBeLessThan(1461);
    expect(new Set(ctx.train.y)).toEqual(new Set([0, 1, 2, 3, 4]));
    expect(output).toMatchObject({
      engine: 'custom',
      task: 'multiclass',
      trainer: { name: 'randomDense', module: 'test/randomDense.ts' },
      hyperparameters: { trainer: 'randomDense', hidden: 3, seed: 5 },
    });
    expect(manifest.metadata).toMatchObject({
      model: 'mlp',
      engine: 'custom',
      trainer: { name: 'randomDense', params: { hidden: 3 } },
      hyperparameters: { model: 'mlp', layers: [3], activation: 'tanh', seed: 5 },
    });
    expect(manifest.metadata.inputMeans).toBeUndefined();

    // The stored network (as evaluation and serving load it) computes softmax of what the weights give.
    const rows = 20;
    const x = ctx.validation.x.subarray(0, rows * 3);
    const logits = forwardDense(
      checkTrainedModel(seen.model, { width: 3, outputs: 5, task: 'multiclass' }, 't'),
      x,
      rows,
    );
    const stored = scoring.predict(x, rows);
    for (let r = 0; r < rows; r++) {
      const z = Array.from(logits.subarray(r * 5, r * 5 + 5));
      const max = Math.max(...z);
      const sum = z.reduce((s, v) => s + Math.exp(v - max), 0);
      z.forEach((v, k) => expect(stored[r * 5 + k]).toBeCloseTo(Math.exp(v - max) / sum, 5));
    }
    scoring.dispose();

    // Same data, params and seed: the same model, byte for byte (the ref is its content hash).
    const again = await fitAndScore(
      randomDense({}),
      stepInput({ column: 'weather', task: 'multiclass' }, { hidden: 3 }),
    );
    expect(again.output.model.sha256).toBe(output.model.sha256);
    again.scoring.dispose();
  });

  it('a regression model predicts in the label’s own units, and a linear one keeps its training means', async () => {
    let seenY: Float32Array | undefined;
    const mean = defineTrainer({
      name: 'meanPlusWind',
      params: z.strictObject({}),
      fit: ({ train, width }) => {
        seenY = train.y;
        const average = train.y.reduce((s, v) => s + v, 0) / train.rows;
        // temp_max ≈ average + 0.5 per unit of the (standardised) wind column.
        return {
          kind: 'linear',
          weights: Array.from({ length: width }, (_, j) => (j === 1 ? 0.5 : 0)),
          bias: average,
        };
      },
    }) as unknown as TrainerDefinition;
    const { scoring, manifest } = await fitAndScore(
      mean,
      stepInput({ column: 'temp_max', task: 'regression' }),
    );
    // y is the label itself, not standardised: Seattle's daily maxima in °C.
    const average = seenY!.reduce((s, v) => s + v, 0) / seenY!.length;
    expect(average).toBeGreaterThan(10);
    expect(average).toBeLessThan(25);
    expect(manifest.metadata).toMatchObject({ model: 'linear', engine: 'custom' });
    expect(manifest.metadata.inputMeans).toHaveLength(3);
    const stored = scoring.predict(Float32Array.from([0, 2, 0, 0, -1, 0]), 2);
    expect(stored[0]).toBeCloseTo(average + 1, 4);
    expect(stored[1]).toBeCloseTo(average - 0.5, 4);
    scoring.dispose();
  });

  it('a bad model stores nothing', async () => {
    const bad = defineTrainer({
      name: 'badBias',
      params: z.strictObject({}),
      fit: ({ width }) => ({ kind: 'linear', weights: new Array<number>(width).fill(0), bias: [0, 0] }),
    }) as unknown as TrainerDefinition;
    await expect(
      trainWithCustomTrainer(
        { definition: bad, module: 'test/bad.ts', codeSha256: 'd'.repeat(64) },
        { home: join(home, 'empty'), dataRoots: [projectRoot] },
        stepInput({ column: 'temp_max', task: 'regression' }),
        { attempt: 1, heartbeat: () => undefined, log: silent, signal: new AbortController().signal },
      ),
    ).rejects.toThrow(
      'step "train": trainer "badBias" (from test/bad.ts) returned a model whose bias has 2 numbers, but the label has 1 output: return one number as bias; nothing was stored or registered',
    );
    const stored = await readdir(join(home, 'empty'), { recursive: true, withFileTypes: true }).catch(
      () => [],
    );
    expect(stored.filter((entry) => entry.isFile()).map((entry) => entry.name)).toEqual([]);
  });
});
