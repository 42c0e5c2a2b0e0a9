import { mlLifecycle } from '../../../pipelines/lifecycle.js';

export const misspelt = mlLifecycle({
  id: 'misspelt',
  source: { uri: 'data/flights.parquet' },
  features: { numeric: ['distance'], categorial: ['origin'] }, // error at `categorial`: 'categorial' does not exist in type
  label: { sql: 'delay > 15', task: 'binary' },
  split: { kind: 'hash', key: 'id', sede: 7 }, // error at `sede`: 'sede' does not exist in type
  train: { model: 'logistic', lerningRate: 0.1 }, // error at `lerningRate`: Did you mean to write 'learningRate'?
  approval: { approvers: ['role:risk'] },
});
