import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { trainOnDataset, type TrainJob } from '../../activities/train/train-core.js';
import { createArtifactStore, type ArtifactStorage } from '../../lib/artifacts/index.js';
import { loadExplainer, NoExplainerError, type Explainer } from '../../lib/model/explain.js';
import { loadScoringModel, modelBody, readModelManifest, saveModel } from '../../lib/model/model-artifact.js';
import type { ModelManifest } from '../../pipelines/model.js';
import { featuresSchema, labelSchema, splitSchema, trainerSchema } from '../../pipelines/train-spec.js';
import { transformRowInto } from '../../lib/model/transform-online.js';
import { dataDir } from '../support/paths.js';

const penguinKey = `concat_ws('|', Species, Island, "Beak Length (mm)", "Beak Depth (mm)", "Flipper Length (mm)", "Body Mass (g)", Sex)`;
const numeric = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'];

function job(trainer: Record<string, unknown>, label: Record<string, unknown>): TrainJob {
  return {
    dataset: { path: join(dataDir, 'penguins.json'), uri: 'file:///penguins.json', sha256: 'test', bytes: 0 },
    features: featuresSchema.parse({ numeric, categorical: ['Island', 'Sex'] }),
    label: labelSchema.parse(label),
    split: splitSchema.parse({ kind: 'hash', key: penguinKey, seed: 1 }),
    trainer: trainerSchema.parse(trainer),
  };
}

const gentoo = { sql: `Species = 'Gentoo'`, task: 'binary' };
const species = { column: 'Species', task: 'multiclass' };
const mass = { column: 'Body Mass (g)', task: 'regression' };

/** Penguins with a missing sex, an unseen island and a missing beak: every encoding path. */
const probes = [
  {
    'Beak Length (mm)': 46.1,
    'Beak Depth (mm)': 13.2,
    'Flipper Length (mm)': 211,
    'Body Mass (g)': 4500,
    Island: 'Biscoe',
    Sex: 'FEMALE',
  },
  {
    'Beak Length (mm)': 39.1,
    'Beak Depth (mm)': 18.7,
    'Flipper Length (mm)': 181,
    'Body Mass (g)': 3750,
    Island: 'Torgersen',
    Sex: null,
  },
  {
    'Beak Length (mm)': null,
    'Beak Depth (mm)': 17.0,
    'Flipper Length (mm)': 195,
    'Body Mass (g)': 3600,
    Island: 'Atlantis',
    Sex: 'MALE',
  },
];

let home: string;
let store: ArtifactStorage;

async function trained(trainer: Record<string, unknown>, label: Record<string, unknown>) {
  const spec = job(trainer, label);
  if (label['task'] === 'regression')
    spec.features = featuresSchema.parse({ numeric: numeric.slice(0, 3), categorical: ['Island', 'Sex'] });
  const outcome = await trainOnDataset(spec);
  const ref = await saveModel(store, modelBody(outcome), outcome.transform, outcome.metadata);
  const manifest = await readModelManifest(store, ref);
  const scoring = await loadScoringModel(store, ref, async (m) => {
    const tf = await import('@tensorflow/tfjs');
    const { loadNetwork, predictBatched } = await import('../../lib/model/model-artifact.js');
    const network = await loadNetwork(tf, store, m);
    return {
      predict: (x: Float32Array, rows: number) =>
        predictBatched(tf, network, x, rows, m.metadata.inputs.length),
      dispose: () => network.dispose(),
    };
  });
  return { manifest, scoring };
}

function matrix(manifest: ModelManifest): Float32Array {
  const width = manifest.metadata.inputs.length;
  const x = new Float32Array(probes.length * width);
  probes.forEach((row, i) => transformRowInto(manifest.transform, row, x, i * width));
  return x;
}

/** Σ contributions + base = margin for every row and output; returns the margins. */
function checkSums(explainer: Explainer, x: Float32Array): Float64Array {
  const { phi, margin } = explainer.explain(x, probes.length);
  const K = explainer.outputs.length;
  const P = explainer.features.length;
  for (let i = 0; i < probes.length; i++) {
    for (let k = 0; k < K; k++) {
      let sum = explainer.base[k]!;
      for (let p = 0; p < P; p++) sum += phi[(i * K + k) * P + p]!;
      const want = margin[i * K + k]!;
      expect(Math.abs(sum - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
    }
  }
  return margin;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'sluice-explain-'));
  store = createArtifactStore(home);
});

describe('model explainers', () => {
  it.each([
    ['gbdt', { model: 'gbdt', rounds: 30, minDataInLeaf: 5, minDataPerCategory: 5 }, 'tree-shap'],
    ['logistic', { model: 'logistic', epochs: 20, learningRate: 0.1 }, 'linear'],
  ])(
    '%s (binary): one contribution per declared feature, adding up to the log-odds the model scores',
    async (_, trainer, method) => {
      const { manifest, scoring } = await trained(trainer, gentoo);
      const explainer = await loadExplainer(store, manifest);
      expect(explainer.method).toBe(method);
      expect(explainer.space).toBe('log-odds');
      // A numeric value and its missing indicator, a one-hot block: one feature each, as declared.
      expect(explainer.features).toEqual([...numeric, 'Island', 'Sex']);
      const x = matrix(manifest);
      const margin = checkSums(explainer, x);
      const p = scoring.predict(x, probes.length);
      probes.forEach((_, i) => expect(1 / (1 + Math.exp(-margin[i]!))).toBeCloseTo(p[i]!, 5));
      scoring.dispose();
    },
  );

  it.each([
    ['gbdt', { model: 'gbdt', rounds: 20, minDataInLeaf: 5, minDataPerCategory: 5 }],
    ['softmax', { model: 'softmax', epochs: 20, learningRate: 0.1 }],
  ])(
    '%s (multi-class): per-class contributions adding up to each logit; softmax gives the probabilities',
    async (_, trainer) => {
      const { manifest, scoring } = await trained(trainer, species);
      const explainer = await loadExplainer(store, manifest);
      expect(explainer.space).toBe('logit');
      expect(explainer.outputs).toEqual(['Adelie', 'Chinstrap', 'Gentoo']);
      const x = matrix(manifest);
      const margin = checkSums(explainer, x);
      const p = scoring.predict(x, probes.length);
      for (let i = 0; i < probes.length; i++) {
        const z = [0, 1, 2].map((k) => Math.exp(margin[i * 3 + k]!));
        const total = z.reduce((a, b) => a + b);
        for (let k = 0; k < 3; k++) expect(z[k]! / total).toBeCloseTo(p[i * 3 + k]!, 5);
      }
      scoring.dispose();
    },
  );

  it.each([
    ['gbdt', { model: 'gbdt', rounds: 20, minDataInLeaf: 5, minDataPerCategory: 5 }],
    ['linear', { model: 'linear', epochs: 20, learningRate: 0.1 }],
  ])('%s (regression): contributions in grams add up to the predicted body mass', async (_, trainer) => {
    const { manifest, scoring } = await trained(trainer, mass);
    const explainer = await loadExplainer(store, manifest);
    expect(explainer.space).toBe('value');
    const x = matrix(manifest);
    const margin = checkSums(explainer, x);
    const p = scoring.predict(x, probes.length);
    probes.forEach((_, i) => expect(Math.abs(margin[i]! - p[i]!)).toBeLessThan(0.01));
    // The base value is an average penguin's mass, in grams.
    expect(explainer.base[0]).toBeGreaterThan(3500);
    expect(explainer.base[0]).toBeLessThan(5000);
    scoring.dispose();
  });

  it('linear contributions are w·(x − training mean): a row at the means gets none', async () => {
    const { manifest, scoring } = await trained({ model: 'logistic', epochs: 5 }, gentoo);
    scoring.dispose();
    const means = manifest.metadata.inputMeans!;
    expect(means).toHaveLength(manifest.metadata.inputs.length);
    const explainer = await loadExplainer(store, manifest);
    const { phi, margin } = explainer.explain(Float32Array.from(means), 1);
    for (const v of phi) expect(Math.abs(v)).toBeLessThan(1e-6);
    expect(margin[0]).toBeCloseTo(explainer.base[0]!, 6);
    // A model stored before means were kept is refused, with the fix.
    const { inputMeans: _, ...older } = manifest.metadata;
    await expect(loadExplainer(store, { ...manifest, metadata: older })).rejects.toThrow(
      /no explanations for this model version.*retrain/,
    );
  });

  it('refuses a network with hidden layers, naming the model types that have an explainer', async () => {
    const { manifest, scoring } = await trained({ model: 'mlp', layers: [4], epochs: 2 }, gentoo);
    scoring.dispose();
    const refusal = loadExplainer(store, manifest);
    await expect(refusal).rejects.toThrow(NoExplainerError);
    await expect(refusal).rejects.toThrow(/mlp model.*no exact explainer.*gbdt, logistic, softmax, linear/);
  });
});
