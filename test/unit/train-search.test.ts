import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../pipelines/errors.js';
import { bestTrial, searchSchema, searchTrials } from '../../pipelines/search.js';

const base = { model: 'mlp', epochs: 10 } as const;

describe('hyperparameter search', () => {
  it('grid: every combination, in a fixed order, each a validated trainer config', () => {
    const trials = searchTrials(
      base,
      searchSchema.parse({
        strategy: 'grid',
        space: { learningRate: [0.01, 0.1], layers: [[16], [32, 16]], dropout: [0, 0.2] },
      }),
    );
    expect(trials).toHaveLength(8);
    expect(trials.map((t) => t.id)).toEqual([
      'trial-001',
      'trial-002',
      'trial-003',
      'trial-004',
      'trial-005',
      'trial-006',
      'trial-007',
      'trial-008',
    ]);
    expect(trials[0]!.values).toEqual({ dropout: 0, layers: [16], learningRate: 0.01 });
    expect(trials[7]!.values).toEqual({ dropout: 0.2, layers: [32, 16], learningRate: 0.1 });
    expect(trials[5]!.trainer).toEqual({
      model: 'mlp',
      epochs: 10,
      dropout: 0.2,
      layers: [16],
      learningRate: 0.1,
    });
    expect(new Set(trials.map((t) => JSON.stringify(t.values))).size).toBe(8);
  });

  it('random: seeded draws from ranges (log and integer) and lists; the same seed gives the same trials', () => {
    const search = searchSchema.parse({
      strategy: 'random',
      trials: 20,
      seed: 7,
      space: {
        learningRate: { min: 1e-4, max: 1e-1, scale: 'log' },
        batchSize: { min: 16, max: 256, integer: true },
        activation: ['relu', 'tanh'],
      },
    });
    const trials = searchTrials(base, search);
    expect(searchTrials(base, search)).toEqual(trials);
    expect(searchTrials(base, { ...search, seed: 8 })).not.toEqual(trials);
    for (const t of trials) {
      const { learningRate, batchSize, activation } = t.values as {
        learningRate: number;
        batchSize: number;
        activation: string;
      };
      expect(learningRate).toBeGreaterThanOrEqual(1e-4);
      expect(learningRate).toBeLessThanOrEqual(1e-1);
      expect(Number.isInteger(batchSize) && batchSize >= 16 && batchSize <= 256).toBe(true);
      expect(['relu', 'tanh']).toContain(activation);
    }
    // Log scale: about half the draws fall below the geometric midpoint (≈ 0.0032).
    const low = trials.filter((t) => (t.values['learningRate'] as number) < Math.sqrt(1e-4 * 1e-1)).length;
    expect(low).toBeGreaterThan(4);
    expect(low).toBeLessThan(16);
  });

  it('refuses unknown hyperparameters, impossible values, ranges in a grid and oversized grids', () => {
    const attempt = (config: object) => () => searchTrials(base, searchSchema.parse(config));
    expect(attempt({ strategy: 'grid', space: { learningrate: [0.1] } })).toThrow(
      /unknown hyperparameter "learningrate": known are model, engine/,
    );
    expect(attempt({ strategy: 'grid', space: { dropout: [0.5, 1.5] } })).toThrow(
      /search trial 2 \(\{"dropout":1.5\}\) is not a valid trainer: dropout/,
    );
    expect(attempt({ strategy: 'grid', space: { learningRate: { min: 0.001, max: 0.1 } } })).toThrow(
      /grid search needs lists of values, but learningRate is a range/,
    );
    expect(attempt({ strategy: 'grid', trials: 3, space: { dropout: [0, 0.1], l2: [0, 0.01] } })).toThrow(
      InvalidInputError,
    );
  });

  it('picks the best trial by the search metric; ties go to the earlier trial; failures are skipped', () => {
    const trials = searchTrials(
      base,
      searchSchema.parse({ strategy: 'grid', space: { dropout: [0, 0.1, 0.2, 0.3] } }),
    );
    const results = [
      { trial: trials[0]!, value: 0.52 },
      { trial: trials[1]!, value: null },
      { trial: trials[2]!, value: 0.41 },
      { trial: trials[3]!, value: 0.41 },
    ];
    const min = bestTrial(results, { metric: 'validationLoss', direction: 'minimize' });
    expect(min.best?.trial.id).toBe('trial-003');
    expect(min.reason).toBe('trial-003 has the lowest validationLoss (0.41) of 3 trials (1 failed)');
    expect(bestTrial(results, { metric: 'auc', direction: 'maximize' }).best?.trial.id).toBe('trial-001');
    expect(bestTrial([{ trial: trials[0]!, value: null }], { metric: 'auc', direction: 'maximize' })).toEqual(
      {
        best: null,
        reason: 'none of the 1 trials reported auc',
      },
    );
  });
});
