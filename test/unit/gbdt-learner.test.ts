import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { binaryMetrics, sortByScore } from '../../activities/evaluate/binary-metrics.js';
import type { GbdtFeature } from '../../activities/train/gbdt/binning.js';
import {
  fitGbdt,
  type GbdtCheckpoint,
  type GbdtData,
  type GbdtParams,
} from '../../activities/train/gbdt/boost.js';
import { forestFromJson, forestToJson } from '../../lib/model/gbdt/forest-json.js';
import { createPredictor } from '../../lib/model/gbdt/forest.js';
import { mulberry32 } from '../../pipelines/prng.js';
import { dataDir } from '../support/paths.js';

const defaults: GbdtParams = {
  objective: 'binary',
  classes: 2,
  rounds: 60,
  learningRate: 0.1,
  numLeaves: 15,
  maxDepth: 0,
  minDataInLeaf: 5,
  minSumHessian: 1e-3,
  l2: 0,
  minSplitGain: 0,
  baggingFraction: 1,
  featureFraction: 1,
  maxBins: 255,
  maxCategories: 254,
  minDataPerCategory: 5,
  maxCatThreshold: 32,
  catSmooth: 10,
  catL2: 10,
  earlyStoppingRounds: 0,
  minDelta: 0,
  seed: 7,
  checkpointEvery: 10,
};

/** Rows from a generator: `make(random)` returns the feature values and the label. */
function synthetic(rows: number, seed: number, make: (r: () => number) => [number[], number]): GbdtData {
  const random = mulberry32(seed);
  const first = make(random);
  const width = first[0].length;
  const x = new Float32Array(rows * width);
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const [values, label] = i === 0 ? first : make(random);
    x.set(values, i * width);
    y[i] = label;
  }
  return { x, y, rows };
}

function auc(data: GbdtData, p: Float32Array): number {
  return binaryMetrics(data.y, p, sortByScore(p), 0.5).auc ?? NaN;
}

/** Interaction and threshold: y = 1 when a > 0.6 xor b > 0.3, 10% of labels flipped. */
const xorish = (r: () => number): [number[], number] => {
  const a = r();
  const b = r();
  const noise = r();
  const label = a > 0.6 !== b > 0.3 ? 1 : 0;
  return [[a, b, r()], noise < 0.1 ? 1 - label : label];
};
const numericFeatures: GbdtFeature[] = [
  { name: 'a', kind: 'numeric' },
  { name: 'b', kind: 'numeric' },
  { name: 'noise', kind: 'numeric' },
];

describe('GBDT learner', () => {
  it('learns an interaction a linear model cannot (test AUC well above chance)', async () => {
    const train = synthetic(3000, 1, xorish);
    const test = synthetic(1000, 2, xorish);
    const fit = await fitGbdt(numericFeatures, train, synthetic(500, 3, xorish), defaults);
    expect(auc(test, createPredictor(fit.forest).predict(test.x, test.rows))).toBeGreaterThan(0.85);
  });

  it('is bit-for-bit reproducible with the same seed, bagging and feature sampling included', async () => {
    const train = synthetic(2000, 1, xorish);
    const params = { ...defaults, baggingFraction: 0.7, featureFraction: 0.67, rounds: 20 };
    const a = await fitGbdt(numericFeatures, train, undefined, params);
    const b = await fitGbdt(numericFeatures, train, undefined, params);
    const c = await fitGbdt(numericFeatures, train, undefined, { ...params, seed: 8 });
    expect(JSON.stringify(forestToJson(a.forest))).toBe(JSON.stringify(forestToJson(b.forest)));
    expect(JSON.stringify(forestToJson(a.forest))).not.toBe(JSON.stringify(forestToJson(c.forest)));
  });

  it('grows the same trees on one thread or two (large leaves are summed in halves either way)', async () => {
    // 20,000 rows: the root and its large children pass PARALLEL_MIN_ROWS, so the helper thread sums half.
    const train = synthetic(20_000, 9, xorish);
    const params = { ...defaults, baggingFraction: 0.8, rounds: 8 };
    const one = await fitGbdt(numericFeatures, train, undefined, params, { threads: 1 });
    const two = await fitGbdt(numericFeatures, train, undefined, params, { threads: 2 });
    expect(JSON.stringify(forestToJson(two.forest))).toBe(JSON.stringify(forestToJson(one.forest)));
  });

  it('sends missing values to the side that learned them', async () => {
    // Missing means positive here: the learned default direction must carry that.
    const make = (r: () => number): [number[], number] => {
      const missing = r() < 0.3;
      const v = r();
      return [[missing ? NaN : v], missing || v > 0.8 ? 1 : 0];
    };
    const fit = await fitGbdt([{ name: 'v', kind: 'numeric' }], synthetic(2000, 4, make), undefined, {
      ...defaults,
      rounds: 20,
    });
    const p = createPredictor(fit.forest).predict(Float32Array.from([NaN, 0.2, 0.9]), 3);
    expect(p[0]).toBeGreaterThan(0.9);
    expect(p[1]).toBeLessThan(0.1);
    expect(p[2]).toBeGreaterThan(0.9);
  });

  it('splits categories natively: a non-contiguous set of codes is found', async () => {
    const positives = new Set([2, 5, 7, 11]);
    const make = (r: () => number): [number[], number] => {
      const code = Math.floor(r() * 14);
      return [[code], positives.has(code) ? 1 : 0];
    };
    const fit = await fitGbdt(
      [{ name: 'airport', kind: 'categorical' }],
      synthetic(2000, 5, make),
      undefined,
      { ...defaults, rounds: 10, numLeaves: 2 },
    );
    // Two-leaf trees: only a categorical split can separate {2, 5, 7, 11} from the rest at once.
    const codes = Float32Array.from({ length: 14 }, (_, i) => i);
    const p = createPredictor(fit.forest).predict(codes, 14);
    codes.forEach((code) => expect(p[code]! > 0.5).toBe(positives.has(code)));
    // A code never seen in training is scored like the other rare codes, not an error.
    expect(Number.isFinite(createPredictor(fit.forest).predict(Float32Array.from([99]), 1)[0])).toBe(true);
  });

  it('buckets categories beyond maxCategories into one bin, with a warning naming the feature', async () => {
    const make = (r: () => number): [number[], number] => [[Math.floor(r() * 40)], r() < 0.5 ? 1 : 0];
    const fit = await fitGbdt([{ name: 'origin', kind: 'categorical' }], synthetic(500, 6, make), undefined, {
      ...defaults,
      rounds: 2,
      maxCategories: 10,
    });
    expect(fit.warnings.join(' ')).toMatch(/"origin" has 40 levels, more than maxCategories = 10/);
  });

  it('stops early on a validation split it cannot improve, keeping the best round', async () => {
    const noise = (r: () => number): [number[], number] => [[r(), r()], r() < 0.5 ? 1 : 0];
    const fit = await fitGbdt(
      numericFeatures.slice(0, 2),
      synthetic(1000, 7, noise),
      synthetic(500, 8, noise),
      { ...defaults, rounds: 200, earlyStoppingRounds: 5 },
    );
    expect(fit.stoppedEarly).toBe(true);
    expect(fit.roundsRun).toBeLessThan(200);
    expect(fit.forest.root.length).toBe(fit.bestRound);
    expect(fit.roundsRun).toBe(fit.bestRound + 5);
  });

  it('resumed from a checkpoint, ends with exactly the trees of an uninterrupted fit', async () => {
    const train = synthetic(1500, 9, xorish);
    const validation = synthetic(400, 10, xorish);
    const params = { ...defaults, rounds: 30, baggingFraction: 0.8, checkpointEvery: 10 };
    const whole = await fitGbdt(numericFeatures, train, validation, params);
    const checkpoints: GbdtCheckpoint[] = [];
    await fitGbdt(numericFeatures, train, validation, params, {
      onCheckpoint: (checkpoint) => {
        // Through JSON, as the artifact store keeps it.
        checkpoints.push({ ...checkpoint, forest: forestFromJson(forestToJson(checkpoint.forest)) });
        return checkpoints.length === 2 ? Promise.reject(new Error('worker killed')) : Promise.resolve();
      },
    }).catch((error: Error) => expect(error.message).toBe('worker killed'));
    expect(checkpoints.at(-1)?.round).toBe(20);
    const resumed = await fitGbdt(numericFeatures, train, validation, params, {
      resume: checkpoints.at(-1)!,
    });
    expect(resumed.resumedFrom).toBe(20);
    expect(JSON.stringify(forestToJson(resumed.forest))).toBe(JSON.stringify(forestToJson(whole.forest)));
  });

  it('classifies penguins (softmax, one tree per class per round) far above the majority class', async () => {
    const rows = (
      JSON.parse(readFileSync(join(dataDir, 'penguins.json'), 'utf8')) as Record<string, unknown>[]
    ).filter((r) => r['Beak Length (mm)'] !== null);
    const species = [...new Set(rows.map((r) => String(r['Species'])))].sort();
    const islands = [...new Set(rows.map((r) => String(r['Island'])))].sort();
    const toData = (part: Record<string, unknown>[]): GbdtData => ({
      x: Float32Array.from(
        part.flatMap((r) => [
          Number(r['Beak Length (mm)']),
          Number(r['Beak Depth (mm)']),
          r['Flipper Length (mm)'] === null ? NaN : Number(r['Flipper Length (mm)']),
          islands.indexOf(String(r['Island'])),
        ]),
      ),
      y: Float32Array.from(part.map((r) => species.indexOf(String(r['Species'])))),
      rows: part.length,
    });
    const train = toData(rows.filter((_, i) => i % 4 !== 0));
    const test = toData(rows.filter((_, i) => i % 4 === 0));
    const fit = await fitGbdt(
      [
        { name: 'beak length', kind: 'numeric' },
        { name: 'beak depth', kind: 'numeric' },
        { name: 'flipper', kind: 'numeric' },
        { name: 'island', kind: 'categorical' },
      ],
      train,
      undefined,
      { ...defaults, objective: 'multiclass', classes: species.length, rounds: 30, numLeaves: 4 },
    );
    expect(fit.forest.root.length).toBe(30 * species.length);
    const p = createPredictor(fit.forest).predict(test.x, test.rows);
    let correct = 0;
    for (let i = 0; i < test.rows; i++) {
      const row = Array.from(p.subarray(i * 3, i * 3 + 3));
      if (row.indexOf(Math.max(...row)) === test.y[i]) correct++;
    }
    expect(correct / test.rows).toBeGreaterThan(0.93);
  });

  it('predicts fuel economy (L2) with an error well below the spread of the target', async () => {
    const rows = (
      JSON.parse(readFileSync(join(dataDir, 'cars.json'), 'utf8')) as Record<string, unknown>[]
    ).filter((r) => r['Miles_per_Gallon'] !== null);
    const toData = (part: Record<string, unknown>[]): GbdtData => ({
      x: Float32Array.from(
        part.flatMap((r) => [
          r['Horsepower'] === null ? NaN : Number(r['Horsepower']),
          Number(r['Weight_in_lbs']),
          Number(r['Cylinders']),
          Number.parseInt(String(r['Year']), 10),
        ]),
      ),
      y: Float32Array.from(part.map((r) => Number(r['Miles_per_Gallon']))),
      rows: part.length,
    });
    const train = toData(rows.filter((_, i) => i % 4 !== 0));
    const test = toData(rows.filter((_, i) => i % 4 === 0));
    const fit = await fitGbdt(
      [
        { name: 'hp', kind: 'numeric' },
        { name: 'weight', kind: 'numeric' },
        { name: 'cylinders', kind: 'numeric' },
        { name: 'year', kind: 'numeric' },
      ],
      train,
      undefined,
      { ...defaults, objective: 'regression', classes: 0, rounds: 80, numLeaves: 8 },
    );
    const p = createPredictor(fit.forest).predict(test.x, test.rows);
    const mean = test.y.reduce((a, b) => a + b, 0) / test.rows;
    let se = 0;
    let sd = 0;
    for (let i = 0; i < test.rows; i++) {
      se += (p[i]! - test.y[i]!) ** 2;
      sd += (mean - test.y[i]!) ** 2;
    }
    // RMSE at most half the standard deviation (R² above 0.75).
    expect(Math.sqrt(se / test.rows)).toBeLessThan(0.5 * Math.sqrt(sd / test.rows));
  });
});
