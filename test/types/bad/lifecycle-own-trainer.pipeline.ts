import { plainLogistic } from '../../../examples/steps/logistic-trainer.js';
import { mlLifecycle } from '../../../pipelines/lifecycle.js';

export const wrongValue = mlLifecycle({
  id: 'wrong-value',
  source: { uri: 'data/flights.parquet' },
  features: { numeric: ['distance'] },
  label: { sql: 'delay > 15', task: 'binary' },
  split: { kind: 'hash', key: 'id' },
  train: plainLogistic.use({ iterations: 'many' }), // error at `iterations`: Type 'string' is not assignable to type 'number | ParamRef
  approval: { approvers: ['role:risk'] },
});

export const misspelt = mlLifecycle({
  id: 'misspelt',
  source: { uri: 'data/flights.parquet' },
  features: { numeric: ['distance'] },
  label: { sql: 'delay > 15', task: 'binary' },
  split: { kind: 'hash', key: 'id' },
  train: plainLogistic.use({ iteration: 100 }), // error at `iteration`: Did you mean to write 'iterations'?
  approval: { approvers: ['role:risk'] },
});

export const wrongSetting = mlLifecycle({
  id: 'wrong-setting',
  source: { uri: 'data/flights.parquet' },
  features: { numeric: ['distance'] },
  label: { sql: 'delay > 15', task: 'binary' },
  split: { kind: 'hash', key: 'id' },
  train: plainLogistic.use({}, { calibration: 'sigmoid' }), // error at `calibration`: Type '"sigmoid"' is not assignable to type
  approval: { approvers: ['role:risk'] },
});
