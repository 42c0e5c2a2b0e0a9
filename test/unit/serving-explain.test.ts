import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectTfBackend } from '../../activities/tf-backend.js';
import { trainModelStep, type TrainModelOutput } from '../../activities/train/train-model.js';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { loadConfig } from '../../lib/config.js';
import { forestFromJson, type ForestJson } from '../../lib/model/gbdt/forest-json.js';
import { readModelManifest, saveModel } from '../../lib/model/model-artifact.js';
import type { JsonObject } from '../../pipelines/json.js';
import type { RegistryDescription } from '../../pipelines/registry.js';
import type { ExplanationsBody } from '../../serving/explain.js';
import { guardFromConfig } from '../../serving/guard.js';
import { createServingServer, type ServingServer } from '../../serving/server.js';
import { dataDir, projectRoot } from '../support/paths.js';

/** `?explain=true` on a real server (Fastify `inject`) serving models trained here on the penguins. */

let home: string;
let server: ServingServer;
const features = ['Beak Length (mm)', 'Flipper Length (mm)', 'Island'];
const penguins = [
  { 'Beak Length (mm)': 39.1, 'Flipper Length (mm)': 181, Island: 'Torgersen' },
  { 'Beak Length (mm)': 47.5, 'Flipper Length (mm)': 215, Island: 'Biscoe' },
  { 'Beak Length (mm)': null, 'Flipper Length (mm)': 190, Island: 'Dream' },
];

/** The same forest stored as versions before explanations were: no node covers. */
async function withoutCovers(trained: TrainModelOutput): Promise<TrainModelOutput['model']> {
  const store = createArtifactStore(home);
  const manifest = await readModelManifest(store, trained.model);
  const forest = forestFromJson(await store.readJson<ForestJson>(manifest.gbdt!.forest));
  const bare = { ...forest, nodeCover: new Float64Array(0), leafCover: new Float64Array(0) };
  return saveModel(store, bare, manifest.transform, manifest.metadata);
}

async function train(trainer: JsonObject): Promise<TrainModelOutput> {
  return new MockActivityEnvironment().run(
    trainModelStep,
    { home, dataRoots: [projectRoot] },
    {
      run: { pipeline: 'explain', workflowId: 'wf-explain', runId: 'run-1', trigger: 'manual' as const },
      step: 'train',
      params: {
        source: join(dataDir, 'penguins.json'),
        features: { numeric: features.slice(0, 2), categorical: ['Island'] },
        label: { sql: `"Species" = 'Adelie'`, task: 'binary' },
        split: { kind: 'hash', key: `concat_ws('|', Species, Island, "Beak Length (mm)", "Body Mass (g)")` },
        trainer,
      },
      runParams: {},
      inputs: {},
    },
  );
}

function registry(model: string, trained: TrainModelOutput): RegistryDescription {
  return {
    model,
    versions: [
      {
        version: 1,
        registeredAt: new Date(0).toISOString(),
        requestId: `wf-explain/${model}`,
        runId: 'run-1',
        workflowId: 'wf-explain',
        pipeline: 'explain',
        dataSha256s: [],
        model: trained.model,
        metrics: {},
        approvals: [],
        registeredBy: 'test',
      },
    ],
    aliases: { production: 1, candidate: null, previous: null },
    eventCount: 1,
  };
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-serving-explain-'));
  const trees = await train({ model: 'gbdt', rounds: 20, minDataInLeaf: 5, minDataPerCategory: 5 });
  const entries = {
    trees: registry('trees', trees),
    older: registry('older', { ...trees, model: await withoutCovers(trees) }),
    linear: registry('linear', await train({ model: 'logistic', epochs: 10, learningRate: 0.1 })),
    net: registry('net', await train({ model: 'mlp', layers: [4], epochs: 2 })),
  } as Record<string, RegistryDescription>;
  await selectTfBackend();
  const tf = await import('@tensorflow/tfjs');
  const config = loadConfig({ SLUICE_HOME: home, PATH: process.env['PATH'] ?? '' }, projectRoot);
  const log = pino({ level: 'silent' });
  server = await createServingServer({
    tf,
    store: createArtifactStore(home),
    registry: (model) =>
      entries[model] ? Promise.resolve(entries[model]) : Promise.reject(new Error('unknown')),
    log,
    deployments: Object.keys(entries).map((model) => ({ model })),
    bodyLimit: config.serve.bodyLimit,
    predictionLog: { dir: join(home, 'predictions'), flushIntervalMs: 200 },
    pollMs: 0,
    processMetrics: false,
    guard: await guardFromConfig(config.serve, log),
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
  await rm(home, { recursive: true, force: true });
});

async function predict(path: string) {
  const response = await server.app.inject({
    method: 'POST',
    url: path,
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify({ instances: penguins }),
  });
  return {
    status: response.statusCode,
    body: response.json<{
      predictions?: unknown[];
      explanations?: ExplanationsBody;
      error?: { code: string; message: string };
    }>(),
  };
}

/** P(positive) from a prediction: a bare probability, or `{ probabilities: { '1': p } }`. */
function positive(p: unknown): number {
  if (typeof p === 'number') return p;
  const probabilities = (p as { probabilities?: Record<string, number> }).probabilities ?? {};
  return probabilities['1'] ?? probabilities['true'] ?? NaN;
}

describe('predict with ?explain=true', () => {
  it.each([
    ['trees', 'tree-shap'],
    ['linear', 'linear'],
  ])(
    '%s: each instance gets every feature’s contribution in log-odds, adding up to its score',
    async (model, method) => {
      const { status, body } = await predict(`/v1/models/${model}:predict?explain=true`);
      expect(status).toBe(200);
      const explanations = body.explanations!;
      expect(explanations.method).toBe(method);
      expect(explanations.space).toBe('log-odds');
      expect(explanations.meaning).toContain(`log-odds that “"Species" = 'Adelie'” holds`);
      expect(explanations.instances).toHaveLength(penguins.length);
      explanations.instances.forEach((instance, i) => {
        const contributions = instance.contributions as Record<string, number>;
        expect(Object.keys(contributions)).toEqual(features);
        const sum = Object.values(contributions).reduce((a, b) => a + b, explanations.baseValue as number);
        const margin = instance.margin as number;
        expect(Math.abs(sum - margin)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(margin)));
        expect(1 / (1 + Math.exp(-margin))).toBeCloseTo(positive(body.predictions![i]), 5);
      });
      // A long flipper says "not Adelie" (Gentoo): it pushes the second penguin's log-odds down.
      const second = explanations.instances[1]!.contributions as Record<string, number>;
      expect(second['Flipper Length (mm)']).toBeLessThan(0);
    },
  );

  it('answers as before without it, or with explain=false; refuses other values', async () => {
    for (const path of ['/v1/models/trees:predict', '/v1/models/trees:predict?explain=false']) {
      const { status, body } = await predict(path);
      expect(status).toBe(200);
      expect(body.explanations).toBeUndefined();
    }
    const { status, body } = await predict('/v1/models/trees:predict?explain=maybe');
    expect(status).toBe(400);
    expect(body.error?.code).toBe('BAD_EXPLAIN');
    expect(body.error?.message).toMatch(/use \?explain=true/);
  });

  it('explains a pinned version too', async () => {
    const { status, body } = await predict('/v1/models/trees/versions/1:predict?explain=true');
    expect(status).toBe(200);
    expect(body.explanations?.instances).toHaveLength(penguins.length);
  });

  it('refuses to explain a network with hidden layers (400 naming the model types that can be), still predicting without it', async () => {
    const { status, body } = await predict('/v1/models/net:predict?explain=true');
    expect(status).toBe(400);
    expect(body.error?.code).toBe('NO_EXPLAINER');
    expect(body.error?.message).toMatch(
      /^net v1: this is a mlp model .* no exact explainer: explanations are available for gbdt, logistic, softmax, linear models/,
    );
    expect((await predict('/v1/models/net:predict')).status).toBe(200);
  });

  it('refuses to explain a tree version stored before covers were kept, with the fix, and still serves it', async () => {
    const { status, body } = await predict('/v1/models/older:predict?explain=true');
    expect(status).toBe(400);
    expect(body.error?.code).toBe('NO_EXPLAINER');
    expect(body.error?.message).toMatch(/^older v1: no explanations for this model version: .*retrain it/);
    const plain = await predict('/v1/models/older:predict');
    expect(plain.status).toBe(200);
    expect(plain.body.predictions).toEqual((await predict('/v1/models/trees:predict')).body.predictions);
  });
});
