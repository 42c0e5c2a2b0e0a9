import { mlLifecycle } from '../../../pipelines/lifecycle.js';

// The line from issue 12: a misspelt trainer is a compile error at the field `model`.
export const typo = mlLifecycle({
  id: 'typo',
  source: { uri: 'data/flights.parquet' },
  features: { numeric: ['distance'] },
  label: { sql: 'delay > 15', task: 'binary' },
  split: { kind: 'hash', key: 'id' },
  train: { model: 'logisitc' }, // error at `model`: Type '"logisitc"' is not assignable to type … Did you mean '"logistic"'?
  approval: { approvers: ['role:risk'] },
});
