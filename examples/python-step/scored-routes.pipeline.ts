import { definePipeline } from 'sluice';

/**
 * One pipeline, three kinds of step: Sluice's own `ingestDataset`, a TypeScript step of your own
 * (`joinAirports`, examples/steps/airport-features.ts, served by `sluice worker --steps`), and a Python
 * step (`scoreRoutes`, examples/python-step/worker.py) on its own task queue.
 *
 *   examples/python-step/setup.sh
 *   .sluice/venv/bin/python examples/python-step/worker.py &
 *   npx sluice worker --steps examples/steps/airport-features.ts &
 *   npx sluice run examples/python-step/scored-routes.pipeline.ts --steps examples/steps/airport-features.ts --wait
 */
export const scoredRoutes = definePipeline({
  id: 'scored-routes',
  description: 'Routes joined to airports in TypeScript, then scored by a Python worker.',
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
      params: { from: 'ingest', airports: 'node_modules/vega-datasets/data/airports.csv' },
    },
    {
      id: 'score',
      activity: 'scoreRoutes',
      queue: 'python-scoring',
      needs: ['features'],
      timeout: '2m',
      heartbeat: '30s',
      params: { from: 'features', top: 5 },
    },
  ],
});
