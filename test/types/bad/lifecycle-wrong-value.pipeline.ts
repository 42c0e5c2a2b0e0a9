import { mlLifecycle } from '../../../pipelines/lifecycle.js';

export const wrong = mlLifecycle({
  id: 'wrong',
  source: { uri: 'data/flights.parquet', format: 'xlsx' }, // error at `format`: Type '"xlsx"' is not assignable to type
  features: { numeric: [{ name: 'hour', impute: 'average' }] }, // error at `impute`: Type '"average"' is not assignable to type … "median" … ParamRef
  label: { sql: 'delay > 15', task: 'binary-ish' }, // error at `task`: Type '"binary-ish"' is not assignable to type … "multiclass"
  split: { kind: 'hash', key: 'id' },
  train: { model: 'logistic', learningRate: 'fast' }, // error at `learningRate`: Type 'string' is not assignable to type 'number | ParamRef
  evaluate: { slices: ['origin'], treshold: 0.4 }, // error at `treshold`: Did you mean to write 'threshold'?
  approval: { approvers: ['role:risk'], quorom: 2 }, // error at `quorom`: Did you mean to write 'quorum'?
});
