import { describe, expect, it } from 'vitest';
import { applyCalibration, calibrateOne, fitIsotonic, fitPlatt } from '../../lib/model/calibration.js';
import { binaryMetrics, sortByScore } from '../../activities/evaluate/binary-metrics.js';
import { resolveCalibration } from '../../pipelines/calibration.js';
import { PipelineDefinitionError } from '../../pipelines/errors.js';
import { mlLifecycle, type LifecycleConfig } from '../../pipelines/lifecycle.js';
import { mulberry32 } from '../../pipelines/prng.js';
import { trainerSchema } from '../../pipelines/train-spec.js';

const f32 = (values: number[]) => Float32Array.from(values);
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const logit = (p: number) => Math.log(p / (1 - p));

/** Scores from a model whose true P(positive | score) is sigmoid(2·logit(score) − 1). */
function miscalibrated(rows: number, seed: number): { scores: Float32Array; labels: Float32Array } {
  const random = mulberry32(seed);
  const scores = new Float32Array(rows);
  const labels = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const score = Math.fround(0.02 + 0.96 * random());
    scores[i] = score;
    labels[i] = random() < sigmoid(2 * logit(score) - 1) ? 1 : 0;
  }
  return { scores, labels };
}

const ece = (labels: Float32Array, p: Float32Array) => binaryMetrics(labels, p, sortByScore(p), 0.5).ece;

describe('Platt scaling', () => {
  it('recovers the slope and intercept that generated the labels', () => {
    const { scores, labels } = miscalibrated(40_000, 7);
    const platt = fitPlatt(scores, labels);
    expect(platt.a).toBeCloseTo(2, 1);
    expect(platt.b).toBeCloseTo(-1, 1);
    expect(platt.rows).toBe(40_000);
  });

  it('lowers the calibration error of miscalibrated scores on fresh rows', () => {
    const fit = miscalibrated(20_000, 1);
    const fresh = miscalibrated(20_000, 2);
    const platt = fitPlatt(fit.scores, fit.labels);
    const before = ece(fresh.labels, fresh.scores);
    const after = ece(fresh.labels, applyCalibration(platt, fresh.scores));
    expect(before).toBeGreaterThan(0.05);
    expect(after).toBeLessThan(0.02);
  });

  it('is monotone increasing, so it never reorders rows', () => {
    const { scores, labels } = miscalibrated(5_000, 3);
    const platt = fitPlatt(scores, labels);
    let previous = -Infinity;
    for (let k = 0; k <= 1000; k++) {
      const p = calibrateOne(platt, k / 1000);
      expect(p).toBeGreaterThanOrEqual(previous);
      previous = p;
    }
    expect(calibrateOne(platt, 0.2)).toBeLessThan(calibrateOne(platt, 0.8));
  });

  it('stays finite on a perfectly separated validation split', () => {
    const platt = fitPlatt(f32([0.1, 0.2, 0.8, 0.9]), f32([0, 0, 1, 1]));
    expect(Number.isFinite(platt.a) && Number.isFinite(platt.b)).toBe(true);
    expect(calibrateOne(platt, 0.9)).toBeLessThan(1);
    expect(calibrateOne(platt, 0.9)).toBeGreaterThan(calibrateOne(platt, 0.1));
  });
});

describe('isotonic regression (pool adjacent violators)', () => {
  it('pools violators exactly as worked out by hand', () => {
    // By score: 0.1→0, then 0.2→1, 0.3→1, 0.4→0 pool to 2/3, then 0.5→0 pools them to 2/4;
    // 0.6→1 stands alone.
    const scores = f32([0.4, 0.1, 0.6, 0.2, 0.5, 0.3]);
    const labels = f32([0, 0, 1, 1, 0, 1]);
    const iso = fitIsotonic(scores, labels);
    expect(iso.x).toEqual([0.1, 0.2, 0.5, 0.6].map(Math.fround));
    expect(iso.y).toEqual([0, 0.5, 0.5, 1]);
    expect(calibrateOne(iso, Math.fround(0.3))).toBe(0.5);
  });

  it('pools equal scores before anything else', () => {
    const iso = fitIsotonic(f32([0.5, 0.5, 0.5, 0.9]), f32([1, 0, 0, 1]));
    expect(iso.y[0]).toBeCloseTo(1 / 3, 12);
    expect(iso.y.at(-1)).toBe(1);
  });

  it('clamps below and above the fitted range and interpolates between blocks', () => {
    const iso = fitIsotonic(f32([0.2, 0.4, 0.6, 0.8]), f32([0, 0, 1, 1]));
    expect(calibrateOne(iso, 0)).toBe(0);
    expect(calibrateOne(iso, 0.1)).toBe(0);
    expect(calibrateOne(iso, 0.95)).toBe(1);
    expect(calibrateOne(iso, 1)).toBe(1);
    // Halfway between the last 0 (at 0.4) and the first 1 (at 0.6).
    expect(calibrateOne(iso, 0.5)).toBeCloseTo(0.5, 6);
  });

  it('is monotone and lowers the calibration error on fresh rows', () => {
    const fit = miscalibrated(20_000, 4);
    const fresh = miscalibrated(20_000, 5);
    const iso = fitIsotonic(fit.scores, fit.labels);
    let previous = -Infinity;
    for (let k = 0; k <= 1000; k++) {
      const p = calibrateOne(iso, k / 1000);
      expect(p).toBeGreaterThanOrEqual(previous);
      previous = p;
    }
    expect(ece(fresh.labels, applyCalibration(iso, fresh.scores))).toBeLessThan(0.02);
  });
});

describe('calibration settings are checked when the pipeline is defined', () => {
  const lifecycle: LifecycleConfig = {
    id: 'calibrated',
    source: { uri: 'data.csv' },
    features: { numeric: ['a'], categorical: ['b'] },
    label: { column: 'y', task: 'binary' },
    split: { kind: 'hash', key: 'a' },
    train: { model: 'logistic', epochs: 3, classWeight: 'balanced' },
    approval: { approvers: ['rita'] },
  };
  const refused = (config: LifecycleConfig): string => {
    try {
      mlLifecycle(config);
    } catch (error) {
      expect(error).toBeInstanceOf(PipelineDefinitionError);
      return (error as Error).message;
    }
    throw new Error('the pipeline was accepted');
  };

  it('an unknown method is refused naming the field and the methods there are', () => {
    const message = refused({
      ...lifecycle,
      train: { model: 'logistic', calibration: 'sigmoid' as 'platt' },
    });
    expect(message).toMatch(/step "train" params are invalid: trainer\.calibration: /);
    expect(message).toContain('"auto"|"platt"|"isotonic"|"none"');
  });

  it('calibration asked of a regression or multi-class model is refused with the fix', () => {
    const regression = refused({
      ...lifecycle,
      label: { column: 'y', task: 'regression' },
      train: { model: 'linear', calibration: 'platt' },
    });
    expect(regression).toContain(
      'trainer.calibration: calibration "platt" needs a binary label, but the label\'s task is regression',
    );
    expect(regression).toContain('set calibration to "none" or leave it out');
    const multiclass = refused({
      ...lifecycle,
      label: { column: 'y', task: 'multiclass' },
      train: { model: 'gbdt', calibration: 'isotonic' },
    });
    expect(multiclass).toContain("the label's task is multiclass: multi-class models are not calibrated");
  });

  it('the default is Platt for class-weighted binary models and off otherwise', () => {
    expect(mlLifecycle(lifecycle).steps.map((s) => s.id)).toContain('train');
    const trainer = (config: object) => trainerSchema.parse(config);
    expect(resolveCalibration(trainer({ model: 'logistic', classWeight: 'balanced' }), 'binary')).toBe(
      'platt',
    );
    expect(resolveCalibration(trainer({ model: 'gbdt' }), 'binary')).toBeNull();
    expect(resolveCalibration(trainer({ model: 'gbdt', calibration: 'isotonic' }), 'binary')).toBe(
      'isotonic',
    );
    expect(resolveCalibration(trainer({ model: 'mlp', classWeight: 'balanced' }), 'multiclass')).toBeNull();
    expect(
      resolveCalibration(
        trainer({ model: 'logistic', classWeight: 'balanced', calibration: 'none' }),
        'binary',
      ),
    ).toBeNull();
  });
});
