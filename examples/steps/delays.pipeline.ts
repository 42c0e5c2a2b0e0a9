import { mlLifecycle } from 'sluice';
import { plainLogistic } from './logistic-trainer.js';

/**
 * The standard lifecycle with a trainer of your own in place of Sluice's: `plainLogistic`
 * (examples/steps/logistic-trainer.ts) fits the weights; Sluice splits the data, fits the transform,
 * then evaluates, writes the card, waits for sign-off, registers and serves the model.
 *
 *   npx sluice worker --steps examples/steps/logistic-trainer.ts
 *   npx sluice run examples/steps/delays.pipeline.ts --steps examples/steps/logistic-trainer.ts --wait
 */
export const delays = mlLifecycle({
  id: 'delays-own-trainer',
  description: 'Will a flight leave more than 15 minutes late? Fitted by a trainer of our own.',
  owner: 'data-eng',
  source: {
    uri: 'node_modules/vega-datasets/data/flights-3m.parquet',
    sql: 'select date, delay, distance, origin, destination from source where hash(date, origin, destination) % 100 = 0',
  },
  contract: { columns: { delay: { type: 'integer', nullable: false } }, rows: { min: 10_000 } },
  features: {
    numeric: [{ name: 'hour', sql: 'hour(date)' }, 'distance'],
    categorical: [{ name: 'origin', topK: 20 }],
  },
  label: { sql: 'delay > 15', task: 'binary' },
  split: { kind: 'hash', key: 'concat(date, origin, destination)', seed: 1 },
  // Typed by the trainer's schema: `iterations: 'many'` or a misspelt key does not compile.
  train: plainLogistic.use({ iterations: 150, learningRate: 0.5 }, { seed: 1 }),
  evaluate: { bless: { auc: { min: 0.55 } } },
  approval: { approvers: ['role:risk'] },
});
