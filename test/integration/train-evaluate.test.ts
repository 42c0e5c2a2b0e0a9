import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withDuckDB } from '../../lib/duckdb.js';
import type { TrainModelOutput } from '../../activities/train/train-model.js';
import { followRun, startRun } from '../../client/runs.js';
import { buildPipeline } from '../../pipelines/define.js';
import type { BlessedEvaluation } from '../../pipelines/evaluation.js';
import type { JsonObject } from '../../pipelines/json.js';
import type { SluiceConfig } from '../../lib/config.js';
import type { RunningWorker } from '../../worker/run.js';
import { dataDir } from '../support/paths.js';
import { testConfig, testWorker } from '../support/worker.js';

let config: SluiceConfig;
let worker: RunningWorker;
let client: Client;

beforeAll(async () => {
  ({ config } = await testConfig());
  worker = await testWorker(config);
  client = new Client({ connection: await Connection.connect({ address: config.temporal.address }) });
  await withDuckDB((db) =>
    db.run(
      `COPY (SELECT * FROM read_parquet('${join(dataDir, 'flights-3m.parquet')}') ORDER BY md5(date::VARCHAR || origin || destination) LIMIT 8000) TO '${join(config.home, 'flights.parquet')}' (FORMAT parquet)`,
    ),
  );
});

afterAll(async () => {
  await client?.connection.close();
  await worker?.shutdown();
});

const common = {
  label: { sql: 'delay > 15', task: 'binary' },
  split: { kind: 'hash', key: 'date::VARCHAR || origin || destination', seed: 2, test: 0.25 },
};

function pipeline(id: string, train: JsonObject, evaluate: JsonObject) {
  return buildPipeline({
    id,
    steps: [
      {
        id: 'train',
        activity: 'trainModel',
        queue: 'train',
        params: { ...common, source: join(config.home, 'flights.parquet'), ...train },
      },
      { id: 'evaluate', activity: 'evaluateModel', needs: ['train'], params: evaluate },
    ],
  });
}

describe('train → evaluate → bless on a real Temporal server', () => {
  it('blesses a model that meets its bar, then refuses a weaker challenger against it as production', async () => {
    const features = {
      numeric: ['distance', { name: 'hour', sql: 'hour(date)' }],
      categorical: [{ name: 'weekday', sql: 'dayofweek(date)' }, 'origin', 'destination'],
    };
    const first = await followRun(
      await startRun(
        client,
        config,
        pipeline(
          'flight-delay',
          { features, trainer: { model: 'mlp', layers: [16], epochs: 6, batchSize: 64 } },
          {
            slices: ['origin'],
            fairness: [{ name: 'weekend', sql: 'dayofweek(date) IN (0, 6)' }],
            bless: { auc: { min: 0.6 }, vsProduction: { auc: { minDelta: 0 } } },
          },
        ),
        { runParams: {} },
      ),
      () => undefined,
    );
    expect(first.state).toBe('succeeded');
    const trained = first.steps[0]!.output as unknown as TrainModelOutput;
    const evaluated = first.steps[1]!.output as unknown as BlessedEvaluation; // blessed by the workflow
    expect(trained).toMatchObject({ engine: 'tfjs', backend: 'wasm', task: 'binary' });
    expect(evaluated.model).toEqual(trained.model);
    expect(evaluated.blessing.blessed).toBe(true);
    expect(evaluated.blessing.reasons.map((r) => [r.check, r.passed])).toEqual([
      ['auc min', true],
      ['auc vs production', true],
    ]);
    // Refs and figures travel through Temporal, never rows.
    expect(JSON.stringify(first).length).toBeLessThan(64_000);

    const challenger = await followRun(
      await startRun(
        client,
        config,
        pipeline(
          'flight-delay-challenger',
          { features: { numeric: ['distance'] }, trainer: { model: 'logistic', epochs: 2 } },
          {
            production: trained.model,
            bless: { auc: { min: 0.6 }, vsProduction: { auc: { minDelta: 0 } } },
          },
        ),
        { runParams: {} },
      ),
      () => undefined,
    );
    const verdict = challenger.steps[1]!.output as unknown as BlessedEvaluation;
    expect(challenger.state).toBe('succeeded'); // a refusal is a result, not a failure
    expect(verdict.blessing.blessed).toBe(false);
    expect(verdict.production?.model).toEqual(trained.model);
    const failed = verdict.blessing.reasons.filter((r) => !r.passed).map((r) => r.check);
    expect(failed).toContain('auc vs production');
    expect(verdict.production!.delta.auc!.value!).toBeLessThan(0);
  });
});
