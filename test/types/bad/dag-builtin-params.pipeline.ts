import { definePipeline } from '../../../pipelines/define.js';

// A step naming a built-in activity gets that activity's params type; a user's step stays open.
export const dag = definePipeline({
  id: 'dag',
  params: { source: { type: 'string', default: 'data/flights.parquet' } },
  steps: [
    { id: 'ingest', activity: 'ingestDataset', params: { source: { $param: 'source' }, fromat: 'csv' } }, // error at `fromat`: 'fromat' does not exist in type
    { id: 'mine', activity: 'scoreIslands', needs: ['ingest'], params: { anything: [1, 'two'] } },
    { id: 'evaluate', activity: 'evaluateModel', needs: ['mine'], params: { threshold: 'high' } }, // error at `{ id: 'evaluate'`: The types of 'params.threshold' are incompatible
    { id: 'stats', activity: 'computeStatistics', neds: ['ingest'] }, // error at `neds`: 'neds' does not exist in type
    { id: 'card', activity: 'renderModelCard', params: { limitations: 'none' } }, // error at `{ id: 'card'`: The types of 'params.limitations' are incompatible … Type 'string' is not assignable to type 'readonly (string | ParamRef)[]'
  ],
});
