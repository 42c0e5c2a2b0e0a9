import { definePipeline } from './define.js';

/**
 * The first pipeline: profile a real dataset with DuckDB, then write a run summary from that profile.
 * Two activities in dependency order prove the whole path CLI → Temporal → worker → activity → result.
 */
export const firstDag = definePipeline({
  id: 'first-dag',
  description: 'Profile the Seattle weather dataset and write a run summary.',
  params: {
    source: {
      type: 'string',
      default: 'node_modules/vega-datasets/data/seattle-weather.csv',
      description: 'Dataset to profile (CSV, TSV, Parquet, JSON or NDJSON) inside the allowed data roots.',
    },
  },
  steps: [
    { id: 'profile', activity: 'profileDataset', params: { source: { $param: 'source' } } },
    { id: 'summarize', activity: 'writeRunSummary', needs: ['profile'] },
  ],
});
