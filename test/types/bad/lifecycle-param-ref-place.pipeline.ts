import { mlLifecycle } from '../../../pipelines/lifecycle.js';

// `{ $param }` stands for a string, number or boolean inside step params, and for nothing else.
export const refs = mlLifecycle({
  id: 'refs',
  source: { uri: { $param: 'data' } }, // error at `uri`: Type '{ $param: string; }' is not assignable to type 'string'
  features: { numeric: ['distance'] },
  label: { sql: 'delay > 15', task: 'binary' },
  split: { $param: 'split' }, // error at `$param`: '$param' does not exist in type
  train: { model: 'logistic', epochs: { $param: 'epochs' } },
  approval: { approvers: ['role:risk'] },
  params: { epochs: { type: 'integer', default: 8 } },
});
