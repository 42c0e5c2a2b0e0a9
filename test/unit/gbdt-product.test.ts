import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { MockActivityEnvironment } from '@temporalio/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { createArtifactStore } from '../../lib/artifacts/index.js';
import { withDuckDB } from '../../lib/duckdb.js';
import { evaluateModelStep } from '../../activities/evaluate/evaluate-model.js';
import { renderModelCardStep } from '../../activities/model-card/render-model-card.js';
import { loadScoringModel, modelBody, readModelManifest, saveModel } from '../../lib/model/model-artifact.js';
import { trainOnDataset } from '../../activities/train/train-core.js';
import { transformRowInto } from '../../lib/model/transform-online.js';
import { trainModelStep, type TrainModelOutput } from '../../activities/train/train-model.js';
import { deriveBlessing } from '../../pipelines/blessing.js';
import type { Blessing, EvaluationSummary } from '../../pipelines/evaluation.js';
import type { JsonObject } from '../../pipelines/json.js';
import type { ModelVersion } from '../../pipelines/registry.js';
import { searchTrials, searchSchema } from '../../pipelines/search.js';
import type { StepInput } from '../../pipelines/step.js';
import {
  featuresSchema,
  labelSchema,
  parseOrThrow,
  splitSchema,
  trainerSchema,
} from '../../pipelines/train-spec.js';
import { loadModelVersion } from '../../lib/model/loaded-model.js';
import { dataDir, projectRoot } from '../support/paths.js';

let home: string;
let trained: TrainModelOutput;
let evaluated: EvaluationSummary;
const blessSpec = { auc: { min: 0.55 } };

const params = {
  source: 'flights.parquet',
  features: {
    numeric: ['distance', { name: 'hour', sql: 'hour(date)' }],
    categorical: [
      { name: 'weekday', sql: 'dayofweek(date)' },
      { name: 'origin', topK: 40 },
    ],
  },
  label: { sql: 'delay > 15', task: 'binary' },
  split: {
    kind: 'hash',
    key: 'date::VARCHAR || origin || destination',
    seed: 3,
    validation: 0.15,
    test: 0.25,
  },
  trainer: { model: 'gbdt', rounds: 40, numLeaves: 15, minDataPerCategory: 20, checkpointEvery: 5 },
};

function step(id: string, stepParams: JsonObject, inputs: JsonObject = {}): StepInput {
  return {
    run: { pipeline: 'p', workflowId: 'wf', runId: 'r', trigger: 'manual' },
    step: id,
    params: stepParams,
    runParams: {},
    inputs,
  };
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-gbdt-'));
  const deps = { home, dataRoots: [home, projectRoot] };
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * FROM read_parquet('${join(dataDir, 'flights-3m.parquet')}') ORDER BY md5(date::VARCHAR || origin || destination) LIMIT 8000) TO '${join(home, 'flights.parquet')}' (FORMAT parquet)`,
    ),
  );
  trained = await new MockActivityEnvironment().run(() => trainModelStep(deps, step('train', params)));
  evaluated = await evaluateModelStep(
    deps,
    step('evaluate', { bless: blessSpec }, { train: trained as unknown as JsonObject }),
  );
}, 120_000);

/** What the workflow passes on to the card: the evaluation with the blessing it derives. */
function blessingOf(evaluation: EvaluationSummary): Blessing {
  const derived = deriveBlessing('evaluate', { bless: blessSpec }, evaluation as unknown as JsonObject);
  if ('error' in derived) throw new Error(derived.error);
  return derived;
}

describe("model: 'gbdt' through the product", () => {
  it('trains, stores a forest (no TF.js weights), and evaluates above chance', async () => {
    expect(trained.engine).toBe('gbdt');
    const manifest = await readModelManifest(createArtifactStore(home), trained.model);
    expect(manifest.tfjs).toBeUndefined();
    expect(manifest.gbdt?.forest.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.metadata.trees?.trees).toBe(trained.metrics.bestEpoch);
    expect(evaluated.metrics.auc?.value).toBeGreaterThan(0.55);
  });

  it('says on the card how many trees and leaves the model has, and lists no layers', async () => {
    const card = await renderModelCardStep(
      home,
      step(
        'card',
        { purpose: 'Plan gates.', intendedUse: 'Operations.', limitations: [], owner: 'ops' },
        { evaluate: { ...evaluated, blessing: blessingOf(evaluated) } as unknown as JsonObject },
      ),
    );
    const html = (await createArtifactStore(home).readBytes(card.html)).toString('utf8');
    expect(html).toMatch(/an ensemble of \d+ gradient-boosted decision trees \(\d+ leaves in all/);
    expect(html).not.toContain('layers');
  });

  it('serves the stored forest, scoring a request as the batch evaluation does', async () => {
    const store = createArtifactStore(home);
    const version = {
      version: 1,
      model: {
        uri: trained.model.uri,
        sha256: trained.model.sha256,
        format: 'json',
        bytes: trained.model.bytes,
      },
    } as unknown as ModelVersion;
    const loaded = await loadModelVersion(tf, store, 'delays', version);
    const [early, late] = loaded.predict([
      { distance: 500, hour: 6, weekday: 2, origin: 'ORD' },
      { distance: 500, hour: 19, weekday: 5, origin: 'ORD' },
    ]) as number[];
    expect(early).toBeGreaterThan(0);
    expect(late).toBeLessThan(1);
    // Evening flights are later than early-morning ones in 2001 as today.
    expect(late!).toBeGreaterThan(early!);
  });

  it("serves a regression forest in the label's own units, as evaluation scores it", async () => {
    const path = join(dataDir, 'cars.json');
    const outcome = await trainOnDataset({
      dataset: { path, uri: 'cars.json', sha256: 'test', bytes: 0 },
      features: featuresSchema.parse({ numeric: ['Horsepower', 'Weight_in_lbs'], categorical: ['Origin'] }),
      label: labelSchema.parse({ column: 'Miles_per_Gallon', task: 'regression' }),
      split: splitSchema.parse({ kind: 'hash', key: 'Name', seed: 1 }),
      trainer: trainerSchema.parse({ model: 'gbdt', rounds: 30, minDataInLeaf: 5, minDataPerCategory: 5 }),
    });
    const store = createArtifactStore(home);
    const ref = await saveModel(store, modelBody(outcome), outcome.transform, outcome.metadata);
    const version = {
      version: 1,
      model: { uri: ref.uri, sha256: ref.sha256, format: 'json', bytes: ref.bytes },
    } as unknown as ModelVersion;
    const served = (await loadModelVersion(tf, store, 'mpg', version)).predict([
      { Horsepower: 70, Weight_in_lbs: 2000, Origin: 'Japan' },
      { Horsepower: 200, Weight_in_lbs: 4500, Origin: 'USA' },
    ]) as number[];
    const scoring = await loadScoringModel(store, ref, () => Promise.reject(new Error('no TF.js')));
    const x = new Float32Array(2 * outcome.metadata.inputs.length);
    transformRowInto(outcome.transform, { Horsepower: 70, Weight_in_lbs: 2000, Origin: 'Japan' }, x, 0);
    transformRowInto(
      outcome.transform,
      { Horsepower: 200, Weight_in_lbs: 4500, Origin: 'USA' },
      x,
      x.length / 2,
    );
    expect(served).toEqual(Array.from(scoring.predict(x, 2)));
    // Miles per gallon, not standardised units: a light car does far better than a heavy one.
    expect(served[0]).toBeGreaterThan(25);
    expect(served[1]).toBeLessThan(20);
  });

  it('refuses out-of-range params at definition, naming the field', () => {
    expect(() => parseOrThrow(trainerSchema, { model: 'gbdt', numLeaves: 1 }, 'step "train" params')).toThrow(
      /numLeaves: Too small/,
    );
    expect(() =>
      parseOrThrow(trainerSchema, { model: 'gbdt', baggingFraction: 0 }, 'step "train" params'),
    ).toThrow(/baggingFraction/);
    expect(() => parseOrThrow(trainerSchema, { model: 'gbdt', maxBins: 256 }, 'x')).toThrow(/maxBins/);
    expect(() => parseOrThrow(trainerSchema, { model: 'gbdt', layers: [8] }, 'x')).toThrow(/layers/);
  });

  it('searches over GBDT params, and refuses a dense-only one in the space', () => {
    const search = searchSchema.parse({
      strategy: 'grid',
      space: { numLeaves: [15, 31], learningRate: [0.05, 0.1] },
    });
    const trials = searchTrials({ model: 'gbdt' }, search);
    expect(trials.map((t) => t.values)).toContainEqual({ numLeaves: 31, learningRate: 0.05 });
    expect(() =>
      searchTrials({ model: 'gbdt' }, searchSchema.parse({ strategy: 'grid', space: { epochs: [1] } })),
    ).toThrow(/unknown hyperparameter "epochs"/);
  });
});
