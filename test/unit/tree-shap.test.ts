import { describe, expect, it } from 'vitest';
import type { GbdtFeature } from '../../activities/train/gbdt/binning.js';
import { fitGbdt, type GbdtData, type GbdtParams } from '../../activities/train/gbdt/boost.js';
import { forestFromJson, forestToJson } from '../../lib/model/gbdt/forest-json.js';
import { createPredictor, nodeRouter, type Forest } from '../../lib/model/gbdt/forest.js';
import { createTreeShap, NoCoversError } from '../../lib/model/gbdt/tree-shap.js';
import { mulberry32 } from '../../pipelines/prng.js';

const params: GbdtParams = {
  objective: 'binary',
  classes: 2,
  rounds: 40,
  learningRate: 0.2,
  numLeaves: 8,
  maxDepth: 0,
  minDataInLeaf: 5,
  minSumHessian: 1e-3,
  l2: 0,
  minSplitGain: 0,
  baggingFraction: 0.8,
  featureFraction: 1,
  maxBins: 63,
  maxCategories: 254,
  minDataPerCategory: 5,
  maxCatThreshold: 32,
  catSmooth: 10,
  catL2: 10,
  earlyStoppingRounds: 0,
  minDelta: 0,
  seed: 11,
  checkpointEvery: 100,
};

const features: GbdtFeature[] = [
  { name: 'hour', kind: 'numeric' },
  { name: 'distance', kind: 'numeric' },
  { name: 'carrier', kind: 'categorical' },
  { name: 'noise', kind: 'numeric' },
];

/** hour (15% missing) and carrier interact; distance adds; noise is noise. Labels: class or value. */
function rows(n: number, seed: number, task: 'binary' | 'multiclass' | 'regression'): GbdtData {
  const random = mulberry32(seed);
  const x = new Float32Array(n * 4);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const hour = random() < 0.15 ? NaN : Math.floor(random() * 24);
    const distance = random() * 3000;
    const carrier = Math.floor(random() * 6);
    const noise = random();
    x.set([hour, distance, carrier, noise], i * 4);
    const late = (Number.isNaN(hour) ? 0.3 : hour / 24) + (carrier === 2 ? 0.4 : 0) + distance / 10000;
    if (task === 'regression') y[i] = late * 10 + random();
    else if (task === 'binary') y[i] = random() < late * 0.8 ? 1 : 0;
    else y[i] = Math.min(2, Math.floor(late * 2 + random() * 0.5));
  }
  return { x, y, rows: n };
}

/**
 * Brute force: the Shapley value over every subset of players, where a coalition's value is the
 * cover-weighted expectation of each tree (a player outside it follows both branches by cover).
 */
function bruteForce(
  forest: Forest,
  players: Int32Array,
  P: number,
  x: Float32Array,
): { base: number[]; phi: number[][] } {
  const route = nodeRouter(forest);
  const K = forest.outputs;
  const cover = (ref: number) => (ref >= 0 ? forest.nodeCover[ref]! : forest.leafCover[~ref]!);
  const value = (ref: number, known: number): number => {
    if (ref < 0) return forest.leafValue[~ref]!;
    const f = forest.feature[ref]!;
    if ((known >> players[f]!) & 1) {
      return value(route(ref, x[f]!) ? forest.left[ref]! : forest.right[ref]!, known);
    }
    const l = forest.left[ref]!;
    const r = forest.right[ref]!;
    return (cover(l) * value(l, known) + cover(r) * value(r, known)) / cover(ref);
  };
  const v = (known: number, k: number) => {
    let sum = forest.initScore[k]!;
    for (let t = k; t < forest.root.length; t += K) sum += value(forest.root[t]!, known);
    return sum;
  };
  const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));
  const phi: number[][] = [];
  const base: number[] = [];
  for (let k = 0; k < K; k++) {
    base.push(v(0, k));
    const row: number[] = [];
    for (let p = 0; p < P; p++) {
      let sum = 0;
      for (let s = 0; s < 1 << P; s++) {
        if ((s >> p) & 1) continue;
        let size = 0;
        for (let q = 0; q < P; q++) size += (s >> q) & 1;
        const w = (factorial(size) * factorial(P - size - 1)) / factorial(P);
        sum += w * (v(s | (1 << p), k) - v(s, k));
      }
      row.push(sum);
    }
    phi.push(row);
  }
  return { base, phi };
}

const identity = new Int32Array([0, 1, 2, 3]);

describe('TreeSHAP', () => {
  for (const task of ['binary', 'multiclass', 'regression'] as const) {
    it(`${task}: contributions plus the base value equal the raw score of every row (1e-9 relative)`, async () => {
      const classes = task === 'multiclass' ? 3 : task === 'binary' ? 2 : 0;
      const fit = await fitGbdt(features, rows(1500, 1, task), undefined, {
        ...params,
        objective: task,
        classes,
      });
      const test = rows(300, 2, task);
      const shap = createTreeShap(fit.forest, identity, 4);
      const phi = shap.explain(test.x, test.rows);
      const raw = createPredictor(fit.forest).raw(test.x, test.rows);
      const K = fit.forest.outputs;
      expect(K).toBe(task === 'multiclass' ? 3 : 1);
      for (let i = 0; i < test.rows; i++) {
        for (let k = 0; k < K; k++) {
          let sum = shap.expected[k]!;
          for (let p = 0; p < 4; p++) sum += phi[(i * K + k) * 4 + p]!;
          const want = raw[i * K + k]!;
          expect(Math.abs(sum - want)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(want)));
        }
      }
      // The noise feature matters far less than the hour on average.
      const meanAbs = (p: number) => {
        let s = 0;
        for (let i = 0; i < test.rows; i++) s += Math.abs(phi[i * K * 4 + p]!);
        return s / test.rows;
      };
      expect(meanAbs(0)).toBeGreaterThan(meanAbs(3));
    });
  }

  it('matches brute-force Shapley values on a tiny forest with a categorical and missing values', async () => {
    const fit = await fitGbdt(features, rows(800, 3, 'binary'), undefined, {
      ...params,
      rounds: 6,
      numLeaves: 6,
    });
    const forest = fit.forest;
    expect([...forest.catOffset].some((c) => c >= 0)).toBe(true); // a categorical split is in there
    const probe = new Float32Array([
      ...[NaN, 1200, 2, 0.5], // missing hour: its default direction
      ...[20, 100, 4, 0.1],
      ...[3, 2900, 2, 0.9],
      ...[12, 500, 99, NaN], // a carrier code never seen in training, missing noise
    ]);
    const shap = createTreeShap(forest, identity, 4);
    const phi = shap.explain(probe, 4);
    for (let i = 0; i < 4; i++) {
      const want = bruteForce(forest, identity, 4, probe.subarray(i * 4, i * 4 + 4));
      expect(shap.expected[0]).toBeCloseTo(want.base[0]!, 12);
      for (let p = 0; p < 4; p++) expect(phi[i * 4 + p]).toBeCloseTo(want.phi[0]![p]!, 10);
    }
  });

  it('explains grouped features (a value and its missing indicator) as one player, exactly', async () => {
    const fit = await fitGbdt(features, rows(800, 4, 'regression'), undefined, {
      ...params,
      objective: 'regression',
      classes: 0,
      rounds: 6,
      numLeaves: 10,
    });
    const players = new Int32Array([0, 1, 0, 2]); // hour and carrier as one player
    const shap = createTreeShap(fit.forest, players, 3);
    const probe = new Float32Array([NaN, 2000, 2, 0.3, 7, 300, 1, 0.8]);
    const phi = shap.explain(probe, 2);
    for (let i = 0; i < 2; i++) {
      const want = bruteForce(fit.forest, players, 3, probe.subarray(i * 4, i * 4 + 4));
      for (let p = 0; p < 3; p++) expect(phi[i * 3 + p]).toBeCloseTo(want.phi[0]![p]!, 9);
    }
  });

  it('stays exact on trees much deeper than the number of players', async () => {
    const fit = await fitGbdt(features, rows(2000, 7, 'binary'), undefined, {
      ...params,
      rounds: 3,
      numLeaves: 40,
    });
    const depth = (ref: number): number =>
      ref < 0 ? 0 : 1 + Math.max(depth(fit.forest.left[ref]!), depth(fit.forest.right[ref]!));
    expect(Math.max(...Array.from(fit.forest.root, depth))).toBeGreaterThan(6);
    const players = new Int32Array([0, 1, 1, 0]); // two players over four features
    const shap = createTreeShap(fit.forest, players, 2);
    const probe = new Float32Array([NaN, 2500, 2, 0.4, 22, 10, 5, 0.7, 9, 1500, 0, 0.2]);
    const phi = shap.explain(probe, 3);
    for (let i = 0; i < 3; i++) {
      const want = bruteForce(fit.forest, players, 2, probe.subarray(i * 4, i * 4 + 4));
      for (let p = 0; p < 2; p++) expect(phi[i * 2 + p]).toBeCloseTo(want.phi[0]![p]!, 10);
    }
  });

  it('survives the forest JSON round trip, and refuses a forest stored without covers', async () => {
    const fit = await fitGbdt(features, rows(400, 5, 'binary'), undefined, { ...params, rounds: 3 });
    const json = forestToJson(fit.forest);
    const back = forestFromJson(json);
    expect(Array.from(back.leafCover)).toEqual(Array.from(fit.forest.leafCover));
    const probe = rows(5, 6, 'binary');
    expect(Array.from(createTreeShap(back, identity, 4).explain(probe.x, 5))).toEqual(
      Array.from(createTreeShap(fit.forest, identity, 4).explain(probe.x, 5)),
    );
    const { nodeCover: _n, leafCover: _l, ...older } = json.arrays;
    const old = forestFromJson({ ...json, arrays: older });
    expect(Array.from(createPredictor(old).raw(probe.x, 5))).toEqual(
      Array.from(createPredictor(fit.forest).raw(probe.x, 5)),
    );
    expect(() => createTreeShap(old, identity, 4)).toThrow(NoCoversError);
    expect(() => createTreeShap(old, identity, 4)).toThrow(/no explanations for this model version.*retrain/);
  });
});
