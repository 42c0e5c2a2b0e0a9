import { definePipeline } from 'sluice';

/**
 * Ingest flight routes, join them to airports with the custom `joinAirports` step
 * (examples/steps/airport-features.ts), then profile the result with Sluice's own statistics step.
 *
 *   npx sluice worker --steps examples/steps/airport-features.ts
 *   npx sluice run examples/steps/routes.pipeline.ts --steps examples/steps/airport-features.ts --wait
 */
export const routes = definePipeline({
  id: 'routes-with-airports',
  description: 'Flight routes joined to their airports by a custom step, then profiled.',
  params: {
    originState: { type: 'string', default: 'CA', description: 'Keep routes leaving this state.' },
  },
  steps: [
    {
      id: 'ingest',
      activity: 'ingestDataset',
      params: { source: 'node_modules/vega-datasets/data/flights-airport.csv' },
    },
    {
      id: 'features',
      activity: 'joinAirports',
      needs: ['ingest'],
      cache: true,
      params: {
        from: 'ingest',
        airports: 'node_modules/vega-datasets/data/airports.csv',
        originState: { $param: 'originState' },
      },
    },
    { id: 'stats', activity: 'computeStatistics', needs: ['features'], cache: true },
  ],
});
