import { mlLifecycle } from './lifecycle.js';

/**
 * Will a flight be more than 15 minutes late? The demo pipeline, on 3 million real US flights from
 * vega-datasets (a stable 1-in-20 sample, ~150k flights, so a laptop run takes about a minute).
 */
export const flightDelay = mlLifecycle({
  id: 'flight-delay',
  description: 'Predict whether a US flight departs more than 15 minutes late.',
  owner: 'data-eng',
  card: {
    purpose:
      'Flag flights likely to depart more than 15 minutes late, so operations can plan crews and gates.',
    intendedUse: 'Planning aid for operations staff; a probability per scheduled flight.',
    limitations: [
      'Trained on 2001 US domestic flights: schedules and airports have changed since.',
      'Uses only the schedule (hour, weekday, distance, airports); no weather or traffic.',
    ],
  },
  source: {
    uri: 'node_modules/vega-datasets/data/flights-3m.parquet',
    sql: 'select date, delay, distance, origin, destination from source where hash(date, origin, destination) % 20 = 0',
  },
  contract: {
    columns: {
      delay: { type: 'integer', nullable: false, min: -120, max: 1800 },
      distance: { type: 'integer', min: 1, max: 6000 },
      origin: { type: 'string', regex: '^[A-Z0-9]{3}$' },
      destination: { type: 'string', regex: '^[A-Z0-9]{3}$' },
    },
    rows: { min: 10_000 },
  },
  features: {
    numeric: [{ name: 'hour', sql: 'hour(date)' }, { name: 'weekday', sql: 'dayofweek(date)' }, 'distance'],
    categorical: [
      { name: 'origin', topK: 30 },
      { name: 'destination', topK: 30 },
    ],
  },
  label: { sql: 'delay > 15', task: 'binary' },
  split: { kind: 'hash', key: 'concat(date, origin, destination)', seed: 7, validation: 0.1, test: 0.2 },
  // Gradient-boosted trees: test AUC 0.679 against the logistic's 0.630 on this split, and calibrated
  // probabilities without class weights (ECE 0.008 against 0.28); docs/training.md has the figures.
  train: { model: 'gbdt', rounds: 100, seed: 42 },
  search: {
    strategy: 'random',
    trials: 4,
    maxParallel: 2,
    seed: 7,
    space: { numLeaves: [15, 31, 63], learningRate: { min: 0.05, max: 0.2, scale: 'log' } },
  },
  evaluate: {
    slices: ['origin'],
    bless: { auc: { min: 0.55 } },
  },
  // Signed: a decision counts only with an Ed25519 signature by a key registered before the run started.
  approval: {
    approvers: ['role:risk'],
    quorum: 1,
    expiresIn: '72h',
    escalateTo: ['head-of-risk'],
    signed: true,
  },
});
